package rpc

import (
	"context"
	"net"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

func benchEnv(b *testing.B, tcp bool) *ClientConn {
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	var cc *ClientConn
	var err error
	if tcp {
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			b.Fatal(lerr)
		}
		go func() { _ = srv.Serve(l) }()
		cc, err = NewClient(l.Addr().String())
	} else {
		l := NewInMemoryListener()
		go func() { _ = srv.Serve(l) }()
		cc, err = NewClient("inmem", WithContextDialer(l.Dial))
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cc.Close()
		srv.Stop()
	})
	return cc
}

// BenchmarkUnary measures a 1-byte unary call, client and server together
// (allocations include both sides since they share the process).
func BenchmarkUnary(b *testing.B) {
	for _, tcp := range []bool{false, true} {
		name := "inmem"
		if tcp {
			name = "tcp"
		}
		b.Run(name, func(b *testing.B) {
			cc := benchEnv(b, tcp)
			ctx := context.Background()
			in := wrapperspb.String("x")
			out := new(wrapperspb.StringValue)
			if err := cc.Invoke(ctx, "/test.Echo/Echo", in, out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := cc.Invoke(ctx, "/test.Echo/Echo", in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnaryParallel(b *testing.B) {
	cc := benchEnv(b, true)
	in := wrapperspb.String("x")
	if err := cc.Invoke(context.Background(), "/test.Echo/Echo", in, new(wrapperspb.StringValue)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		out := new(wrapperspb.StringValue)
		for pb.Next() {
			if err := cc.Invoke(context.Background(), "/test.Echo/Echo", in, out); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
