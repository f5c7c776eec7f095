package h2

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckSend: every header list we send passes the checks of RFC 9113
// §8.2 that a received one must pass.
func TestCheckSend(t *testing.T) {
	req := []string{":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a"}
	for _, tc := range []struct {
		name string
		kind headerKind
		h    Header
		ok   bool
	}{
		{"request", kindRequest, hdr(append(req, "te", "trailers", "x", "1")...), true},
		{"response", kindResponse, hdr(":status", "200", "a", "b"), true},
		{"informational", kindResponse, hdr(":status", "103", "link", "</x>"), true},
		{"trailers", kindTrailers, hdr("grpc-status", "0", "empty", ""), true},
		{"CR LF in a trailer value", kindTrailers, hdr("a", "a\r\nb"), false},
		{"LF in a value", kindResponse, hdr(":status", "200", "a", "x\ny"), false},
		{"NUL in a value", kindRequest, hdr(append(req, "a", "x\x00")...), false},
		{"leading space", kindTrailers, hdr("a", " x"), false},
		{"trailing tab", kindTrailers, hdr("a", "x\t"), false},
		{"upper-case name", kindTrailers, hdr("Grpc-Status", "0"), false},
		{"separator in a name", kindResponse, hdr(":status", "200", "a b", "x"), false},
		{"empty name", kindTrailers, hdr("", "x"), false},
		{"connection", kindResponse, hdr(":status", "200", "connection", "close"), false},
		{"keep-alive", kindRequest, hdr(append(req, "keep-alive", "5")...), false},
		{"transfer-encoding", kindTrailers, hdr("transfer-encoding", "chunked"), false},
		{"upgrade", kindRequest, hdr(append(req, "upgrade", "h2c")...), false},
		{"te other than trailers", kindRequest, hdr(append(req, "te", "gzip")...), false},
		{"pseudo-header in trailers", kindTrailers, hdr(":status", "500"), false},
		{"pseudo-header after a field", kindResponse, hdr("a", "b", ":status", "200"), false},
		{"request pseudo-header in a response", kindResponse, hdr(":status", "200", ":path", "/"), false},
		{"response pseudo-header in a request", kindRequest, hdr(append(req, ":status", "200")...), false},
		{"unknown pseudo-header", kindRequest, hdr(append(req[:4:4], ":foo", "x")...), false},
		{"duplicate :status", kindResponse, hdr(":status", "200", ":status", "204"), false},
		{"non-numeric :status", kindResponse, hdr(":status", "2x0"), false},
		{"missing :status", kindResponse, hdr("a", "b"), false},
		{"missing :path", kindRequest, hdr(":method", "GET", ":scheme", "http"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSend(tc.h, tc.kind)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidHeader)
			var he *HeaderError
			require.True(t, errors.As(err, &he))
		})
	}
	ok := hdr(":status", "200", "content-type", "x")
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = checkSend(ok, kindResponse) }),
		"a valid list is checked without allocating")
}

// TestBadTrailersNeverLeave: trailers a handler sets with CR LF in a value
// (ready to be injected into an HTTP/1.1 hop) are refused; after the
// response headers went out the stream is reset with INTERNAL_ERROR, and the
// trailers are never on the wire, whichever way they were given.
func TestBadTrailersNeverLeave(t *testing.T) {
	bad := Header{{Name: "x-bad", Value: "a\r\nb"}}
	for _, tc := range []struct {
		name string
		end  func(st *Stream) error
	}{
		{"WriteTrailers", func(st *Stream) error { return st.WriteTrailers(bad) }},
		{"End", func(st *Stream) error { _, err := st.End([]byte("more"), bad); return err }},
		{"SetTrailers and CloseWrite", func(st *Stream) error { st.SetTrailers(bad); return st.CloseWrite() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goroutineLeakCheck(t)
			endErr := make(chan error, 1)
			started := make(chan struct{})
			p := newTCPServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) {
				_ = st.Respond(nil, nil)
				_, _ = st.Write([]byte("body"))
				<-started
				endErr <- tc.end(st)
			})})
			p.handshake()
			p.startReader()
			p.request(1, true)
			p.expectHeaders(1)
			p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && f.StreamID == 1 })
			close(started) // the response is on the wire: now the bad end
			f, seen := p.expect("RST_STREAM", func(f rawFrame) bool { return f.Type == FrameRSTStream && f.StreamID == 1 })
			require.Equal(t, ErrCodeInternal, f.code())
			for _, f := range seen {
				require.False(t, f.StreamID == 1 && f.Type == FrameHeaders, "a second HEADERS (the trailers) went out: %v", f)
			}
			require.ErrorIs(t, <-endErr, ErrInvalidHeader)
		})
	}
}

// TestBadHeadersSendNothing: refused response headers, informational
// headers and trailers given to Respond leave nothing on the wire, so the
// handler can still answer properly.
func TestBadHeadersSendNothing(t *testing.T) {
	goroutineLeakCheck(t)
	errs := make(chan error, 3)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		errs <- st.SendInformational(Header{{Name: ":status", Value: "103"}, {Name: "link", Value: "x\ny"}})
		errs <- st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x", Value: "1\r\nInjected: yes"}}, nil)
		errs <- st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{Body: []byte("b"), Trailers: Header{{Name: "upgrade", Value: "x"}}})
		_ = st.Respond(Header{{Name: ":status", Value: "500"}}, &RespondOptions{EndStream: true})
	})}, nil)
	h, body, trailers := getAll(t, c)
	require.Equal(t, "500", h.Get(":status"), "the handler's proper answer, after the refusals")
	require.Empty(t, body)
	require.Nil(t, trailers)
	for range 3 {
		require.ErrorIs(t, <-errs, ErrInvalidHeader)
	}
}

// TestBadRequestHeadersSendNothing: a client's request with an invalid
// field is refused before a stream is opened; invalid request trailers
// reset the stream with INTERNAL_ERROR instead of going out.
func TestBadRequestHeadersSendNothing(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	_, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"},
		{Name: "x-token", Value: "t\r\nx-admin: 1"}}, nil)
	require.ErrorIs(t, err, ErrInvalidHeader)
	_, err = p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/"}, {Name: ":authority", Value: "a"}, {Name: "te", Value: "deflate"}}, nil)
	require.ErrorIs(t, err, ErrInvalidHeader, "the canonical fast path checks too")

	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	h := p.expectHeaders(1)
	require.Equal(t, "/", h.Fields.Get(":path"), "the first stream is the good request: the bad ones opened none")
	require.ErrorIs(t, st.WriteTrailers(Header{{Name: "x", Value: "\x00"}}), ErrInvalidHeader)
	f, seen := p.expect("RST_STREAM", func(f rawFrame) bool { return f.Type == FrameRSTStream && f.StreamID == 1 })
	require.Equal(t, ErrCodeInternal, f.code())
	for _, f := range seen {
		require.NotEqual(t, FrameHeaders, f.Type, "the trailers went out: %v", f)
	}
	_, err = st.Response(context.Background())
	require.Error(t, err)
}
