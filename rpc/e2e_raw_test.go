package rpc

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// rawCall sends a hand-built request with the h2 client, to test what the
// server does with requests our own client would never send.
func rawCall(t *testing.T, addr string, hdr h2.Header, body []byte) (resp h2.Header, trailers h2.Header, data []byte) {
	t.Helper()
	ctx := ctxTimeout(t, 5*time.Second)
	sess, err := h2.Dial(ctx, addr, nil)
	require.NoError(t, err)
	defer sess.Close()
	st, err := sess.Request(ctx, hdr, nil)
	require.NoError(t, err)
	if body != nil {
		_, err = st.Write(body)
		require.NoError(t, err)
	}
	require.NoError(t, st.CloseWrite())
	resp, err = st.Response(ctx)
	require.NoError(t, err)
	data, _ = io.ReadAll(st)
	return resp, st.Trailers(), data
}

func grpcReq(path string, extra ...h2.HeaderField) h2.Header {
	h := h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"}}
	return append(h, extra...)
}

func encoded(t testing.TB, s string) []byte {
	bp, err := encodeMessage(ProtoCodec, nil, wrapperspb.String(s), 1<<20, 0)
	require.NoError(t, err)
	return append([]byte(nil), *bp...)
}

func TestServerEnforcesGrpcTimeout(t *testing.T) {
	checkNoLeaks(t)
	done := make(chan error, 1)
	e := newEnv(t, true, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		done <- ctx.Err()
		return resp, err
	})})
	start := time.Now()
	resp, _, _ := rawCall(t, e.addr, grpcReq("/test.Echo/Echo", h2.HeaderField{Name: "grpc-timeout", Value: "100m"}), encoded(t, "block"))
	require.Equal(t, "4", resp.Get("grpc-status"), "trailers-only DEADLINE_EXCEEDED")
	require.Less(t, time.Since(start), 3*time.Second)
	require.ErrorIs(t, <-done, context.DeadlineExceeded)
}

func TestServerRejectsBadRequests(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	// Not gRPC: HTTP 415.
	resp, _, _ := rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "text/plain"}}, []byte("hi"))
	require.Equal(t, "415", resp.Get(":status"))
	resp, _, _ = rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/test.Echo/Echo"}}, nil)
	require.Equal(t, "405", resp.Get(":status"))
	// Malformed grpc-timeout.
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo", h2.HeaderField{Name: "grpc-timeout", Value: "soon"}), encoded(t, "x"))
	require.Equal(t, "13", resp.Get("grpc-status"))
	// Unknown encoding: UNIMPLEMENTED.
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo", h2.HeaderField{Name: "grpc-encoding", Value: "zstd-x"}), encoded(t, "x"))
	require.Equal(t, "12", resp.Get("grpc-status"))
	require.Contains(t, resp.Get("grpc-accept-encoding"), "gzip")
	// Compressed flag without grpc-encoding.
	body := encoded(t, "x")
	body[0] = 1
	_, tr, _ := rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), body)
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), body)
	require.Equal(t, "13", resp.Get("grpc-status")+tr.Get("grpc-status"))
	// Unary without a message, and with two: UNIMPLEMENTED, as grpc-go says.
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), nil)
	require.Equal(t, "12", resp.Get("grpc-status"))
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), append(encoded(t, "a"), encoded(t, "b")...))
	require.Equal(t, "12", resp.Get("grpc-status"))
	// Truncated message.
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), encoded(t, "abc")[:6])
	require.Equal(t, "13", resp.Get("grpc-status"))
	// Bad binary metadata.
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo", h2.HeaderField{Name: "x-bin", Value: "!!!"}), encoded(t, "x"))
	require.Equal(t, "13", resp.Get("grpc-status"))
	// A good raw call works: response header, one message, grpc-status 0 in trailers.
	resp, tr, data := rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), encoded(t, "ok"))
	require.Equal(t, "200", resp.Get(":status"))
	require.Equal(t, "application/grpc", resp.Get("content-type"))
	require.Equal(t, encoded(t, "ok"), data)
	require.Equal(t, "0", tr.Get("grpc-status"))
}

// Both ends let the peer send frames of up to 1 MiB, so that a large message
// between h2rpc peers crosses in few frames, each read straight into the
// message buffer.
func TestBothEndsAcceptLargeFrames(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	ctx := ctxTimeout(t, 5*time.Second)
	sess, err := h2.Dial(ctx, e.addr, nil)
	require.NoError(t, err)
	defer sess.Close()
	require.Eventually(t, func() bool { return sess.RemoteSettings().MaxFrameSize == maxFrameSize },
		5*time.Second, time.Millisecond, "the server's SETTINGS")

	sessions := make(chan *h2.Session, 1)
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		_ = st.Respond(h2.Header{{Name: ":status", Value: "404"}}, &h2.RespondOptions{EndStream: true})
	}), OnSession: func(s *h2.Session) { sessions <- s }}
	cc := clientOfH2Server(t, hs)
	_ = cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue))
	srvSess := <-sessions
	require.Eventually(t, func() bool { return srvSess.RemoteSettings().MaxFrameSize == maxFrameSize },
		5*time.Second, time.Millisecond, "the client's SETTINGS")
}
