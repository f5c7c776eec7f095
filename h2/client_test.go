package h2

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContentLengthWithoutBody: responses to HEAD and 204/304 responses may
// state a content-length with no body (RFC 9110 §8.6); any other response must
// carry exactly that many bytes.
func TestContentLengthWithoutBody(t *testing.T) {
	for _, tc := range []struct {
		name, method, status string
		ok                   bool
	}{
		{"HEAD", "HEAD", "200", true},
		{"204", "GET", "204", true},
		{"304", "GET", "304", true},
		{"GET 200", "GET", "200", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goroutineLeakCheck(t)
			p := newClientPeer(t, nil)
			p.serverHandshake()
			st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: tc.method}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
			require.NoError(t, err)
			p.expectHeaders(1)
			p.mustWrite(appendHeaders(nil, 1, true, true, nil, p.encode(":status", tc.status, "content-length", "100")))
			h, err := st.Response(ctxT(t))
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, "100", h.Get("content-length"))
				b, err := io.ReadAll(st)
				require.NoError(t, err)
				require.Empty(t, b)
				return
			}
			// Malformed (§8.1.1): a stream error, seen by Response or by the
			// first Read of the body.
			if err == nil {
				_, err = io.ReadAll(st)
			}
			var se *StreamError
			require.ErrorAs(t, err, &se)
			require.Equal(t, ErrCodeProtocol, se.Code)
			p.expectRST(1, ErrCodeProtocol)
		})
	}
}

// TestContentLengthMatchingBody: a request whose body matches its
// content-length is served.
func TestContentLengthMatchingBody(t *testing.T) {
	c := memPair(t, &Server{Handler: okHandler}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}, {Name: "content-length", Value: "3"}}, nil)
	require.NoError(t, err)
	_, err = st.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, st.CloseWrite())
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "abc", string(b))
}

// TestOnInformationalMayUseTheStream: the callback may call the stream's
// (locking) methods without deadlocking the session.
func TestOnInformationalMayUseTheStream(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	var st *Stream
	seen := make(chan int, 1)
	ready := make(chan struct{})
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{
		EndStream: true,
		OnInformational: func(h Header) {
			<-ready
			seen <- len(st.Informational()) + len(st.Header())
		},
	})
	require.NoError(t, err)
	close(ready)
	p.expectHeaders(1)
	p.mustWrite(appendHeaders(nil, 1, false, true, nil, p.encode(":status", "103")))
	p.mustWrite(appendHeaders(nil, 1, true, true, nil, p.encode(":status", "200")))
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	require.Equal(t, 1, <-seen)
}

// TestConnectTunnel: a CONNECT request (no :scheme or :path) opens a
// bidirectional byte stream, like a TCP tunnel over one HTTP/2 stream.
func TestConnectTunnel(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		if st.Method() != "CONNECT" || st.Authority() != "db.internal:5432" || st.Path() != "" || st.Scheme() != "" {
			st.Reset(ErrCodeProtocol)
			return
		}
		_ = st.Respond(nil, nil)
		buf := make([]byte, 64)
		for {
			n, err := st.Read(buf)
			if n > 0 {
				_, _ = st.Write(append([]byte("echo:"), buf[:n]...))
			}
			if err != nil {
				_ = st.CloseWrite()
				return
			}
		}
	})}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: "db.internal:5432"}}, nil)
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	for _, msg := range []string{"one", "two"} {
		_, err := st.Write([]byte(msg))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := st.Read(buf)
		require.NoError(t, err)
		require.Equal(t, "echo:"+msg, string(buf[:n]))
	}
	require.NoError(t, st.CloseWrite())
	rest, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Empty(t, rest)
}

// TestRequestWithAnEndedContext: a request whose context has already ended
// fails with the context's error and opens no stream.
func TestRequestWithAnEndedContext(t *testing.T) {
	c := memPair(t, &Server{Handler: okHandler}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Request(ctx, post("/"), &RequestOptions{Body: []byte("x"), EndStream: true})
	require.ErrorIs(t, err, context.Canceled)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.Equal(t, uint32(1), st.ID(), "the failed request took no stream id")
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
}

// TestInformationalFloodIsBounded: a server that answers with 1xx responses
// without end gets the stream reset once there are more than
// maxInformational, instead of the client keeping every one.
func TestInformationalFloodIsBounded(t *testing.T) {
	p, st := openClientRequest(t)
	var flood []byte
	for i := 0; i < 1000; i++ {
		flood = appendHeaders(flood, 1, false, true, nil, p.encode(":status", "103", "link", "</a>"))
	}
	p.mustWrite(flood)
	p.expectRST(1, ErrCodeEnhanceYourCalm)
	_, err := st.Response(ctxT(t))
	require.Error(t, err)
	require.Len(t, st.Informational(), maxInformational)
}
