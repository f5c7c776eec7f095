package h2

import (
	"context"
	"encoding/binary"
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

// BenchmarkPingPong1MiB sends 1 MiB each way per iteration, over one h2
// stream (Write, ReadFramed) and, for comparison, over a bare TCP socket:
// the transport's share of an RPC ping-pong, without protobuf.
func BenchmarkPingPong1MiB(b *testing.B) {
	const size = 1 << 20
	need := func(got []byte) int { // a 4-byte length, then that many bytes
		if len(got) < 4 {
			return 4
		}
		return 4 + int(binary.BigEndian.Uint32(got))
	}
	out := make([]byte, 4+size)
	binary.BigEndian.PutUint32(out, size)
	in := make([]byte, len(out))
	b.Run("tcp", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, len(out))
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(2 * size)
		for b.Loop() {
			if _, err := c.Write(out); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("h2", func(b *testing.B) {
		sess := benchPair(b, func(st *Stream) {
			_ = st.Respond(nil, nil)
			buf := make([]byte, len(out))
			for {
				n, err := st.ReadFramed(buf, need)
				if n == len(buf) {
					if _, werr := st.Write(buf); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
		ctx := context.Background()
		st, err := sess.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Reset(ErrCodeCancel)
		if _, err := st.Response(ctx); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(2 * size)
		for b.Loop() {
			if _, err := st.Write(out); err != nil {
				b.Fatal(err)
			}
			if n, err := st.ReadFramed(in, need); n != len(in) {
				b.Fatal(n, err)
			}
		}
	})
}
