package h2

import (
	"context"
	"io"
	"net"
	"testing"
)

// benchPair starts a server with handler on loopback and a client session to it.
func benchPair(b *testing.B, handler HandlerFunc) *Session {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	sess, err := Dial(context.Background(), l.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = sess.Close()
		_ = srv.Close()
	})
	return sess
}

var benchBody = []byte("Hello from h2rpc's HTTP/2 engine!\n")

func benchHandler(st *Stream) {
	_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "text/plain"}}, nil)
	_, _ = st.Write(benchBody)
	_ = st.CloseWrite()
}

// BenchmarkRequestResponse measures a small GET and its 34-byte response,
// client and server in one process, with parallel callers on one session.
func BenchmarkRequestResponse(b *testing.B) {
	sess := benchPair(b, benchHandler)
	hdr := Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64)
		ctx := context.Background()
		for pb.Next() {
			st, err := sess.Request(ctx, hdr, &RequestOptions{EndStream: true})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := st.Response(ctx); err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := st.Read(buf); err == io.EOF {
					break
				} else if err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}
