package rpc

import (
	"context"
	"io"
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
		cc, err = NewClient(l.Addr().String(), WithInsecure())
	} else {
		l := NewInMemoryListener()
		go func() { _ = srv.Serve(l) }()
		cc, err = NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial))
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

// BenchmarkUnaryCancelable is BenchmarkUnary/tcp with a context that can be
// canceled, as a server's request context or a caller's usually is: each call
// watches it (context.AfterFunc), which a call on context.Background skips.
func BenchmarkUnaryCancelable(b *testing.B) {
	cc := benchEnv(b, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := wrapperspb.String("x")
	out := new(wrapperspb.StringValue)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := cc.Invoke(ctx, "/test.Echo/Echo", in, out); err != nil {
			b.Fatal(err)
		}
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

// BenchmarkServerStreaming1KiB measures messages per second of one
// server-streaming call sending 1 KiB messages.
func BenchmarkServerStreaming1KiB(b *testing.B) {
	srv := NewServer()
	payload := wrapperspb.Bytes(make([]byte, 1024))
	srv.RegisterService(&ServiceDesc{ServiceName: "bench.S", HandlerType: (*any)(nil), Streams: []StreamDesc{{
		StreamName: "Flood", ServerStreams: true,
		Handler: func(_ any, ss ServerStream) error {
			n := new(wrapperspb.Int64Value)
			if err := ss.RecvMsg(n); err != nil {
				return err
			}
			for i := int64(0); i < n.Value; i++ {
				if err := ss.SendMsg(payload); err != nil {
					return err
				}
			}
			return nil
		},
	}}}, struct{}{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	cc, err := NewClient(l.Addr().String(), WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	b.ReportAllocs()
	b.SetBytes(1024)
	b.ResetTimer()
	cs, err := cc.NewStream(context.Background(), &StreamDesc{ServerStreams: true}, "/bench.S/Flood")
	if err != nil {
		b.Fatal(err)
	}
	if err := cs.SendMsg(wrapperspb.Int64(int64(b.N))); err != nil {
		b.Fatal(err)
	}
	_ = cs.CloseSend()
	m := new(wrapperspb.BytesValue)
	for i := 0; i < b.N; i++ {
		if err := cs.RecvMsg(m); err != nil {
			b.Fatal(err)
		}
	}
	if err := cs.RecvMsg(m); err != io.EOF {
		b.Fatal(err)
	}
}

// BenchmarkBidiPingPong1MiB measures bytes per second of a bidirectional
// stream echoing 1 MiB messages one at a time.
func BenchmarkBidiPingPong1MiB(b *testing.B) { benchPingPong(b, 1<<20) }

// BenchmarkBidiPingPong1KiB is the same with 1 KiB messages, whose round
// trip is bound by the work per message on the path (run it with -cpu 1).
func BenchmarkBidiPingPong1KiB(b *testing.B) { benchPingPong(b, 1<<10) }

// benchPingPong echoes messages of size bytes one at a time on one
// bidirectional stream.
func benchPingPong(b *testing.B, size int) {
	srv := NewServer()
	srv.RegisterService(&ServiceDesc{ServiceName: "bench.P", HandlerType: (*any)(nil), Streams: []StreamDesc{{
		StreamName: "Echo", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, ss ServerStream) error {
			m := new(wrapperspb.BytesValue)
			for {
				if err := ss.RecvMsg(m); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
				if err := ss.SendMsg(m); err != nil {
					return err
				}
			}
		},
	}}}, struct{}{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	cc, err := NewClient(l.Addr().String(), WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	cs, err := cc.NewStream(context.Background(), &StreamDesc{ServerStreams: true, ClientStreams: true}, "/bench.P/Echo")
	if err != nil {
		b.Fatal(err)
	}
	msg := wrapperspb.Bytes(make([]byte, size))
	out := new(wrapperspb.BytesValue)
	b.ReportAllocs()
	b.SetBytes(2 * int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := cs.SendMsg(msg); err != nil {
			b.Fatal(err)
		}
		if err := cs.RecvMsg(out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = cs.CloseSend()
	_ = cs.RecvMsg(out)
}
