package rpc

import (
	"context"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkHTTPClientUnary measures a 1-byte unary call in gRPC-Web and
// Connect over the client's own HTTP/2 sessions, in memory, client and
// server together (compare BenchmarkUnary/inmem, gRPC on the same path).
func BenchmarkHTTPClientUnary(b *testing.B) {
	benchHTTPClientCalls(b, "/test.Echo/Echo", func(err error) bool { return err == nil })
}

// BenchmarkHTTPClientUnaryError is BenchmarkHTTPClientUnary's call to a
// method that does not exist: the error's way back, Connect's JSON error
// body and gRPC-Web's status envelope.
func BenchmarkHTTPClientUnaryError(b *testing.B) {
	benchHTTPClientCalls(b, "/test.Echo/Nope", func(err error) bool { return status.Code(err) == codes.Unimplemented })
}

// benchHTTPClientCalls calls method in each web protocol, in memory, and
// fails on the first error ok does not expect.
func benchHTTPClientCalls(b *testing.B, method string, ok func(error) bool) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		b.Run(p.String(), func(b *testing.B) {
			srv := NewServer()
			srv.RegisterService(&echoDesc, &echoImpl{})
			l := NewInMemoryListener()
			go func() { _ = srv.Serve(l) }()
			cc, err := NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial), WithProtocol(p))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				cc.Close()
				srv.Stop()
			})
			ctx := context.Background()
			in, out := wrapperspb.String("x"), new(wrapperspb.StringValue)
			b.ReportAllocs()
			for b.Loop() {
				if err := cc.Invoke(ctx, method, in, out); !ok(err) {
					b.Fatalf("call: %v", err)
				}
			}
		})
	}
}
