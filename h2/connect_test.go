package h2

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// tunnelHandler echoes a CONNECT stream's bytes back with the request's
// :protocol, :scheme and :path in the response headers.
var tunnelHandler = HandlerFunc(func(st *Stream) {
	if st.Method() != "CONNECT" {
		st.Reset(ErrCodeProtocol)
		return
	}
	_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x-protocol", Value: st.Protocol()},
		{Name: "x-scheme", Value: st.Scheme()}, {Name: "x-path", Value: st.Path()}}, nil)
	_, _ = io.Copy(st, st)
	_ = st.CloseWrite()
})

func wsConnect() Header {
	return Header{{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"}, {Name: ":path", Value: "/chat"},
		{Name: "sec-websocket-version", Value: "13"}}
}

func TestExtendedConnectBothEnds(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: tunnelHandler}
	srv.Options.Settings.EnableConnectProtocol = true
	c := memPair(t, srv, &ClientOptions{Authority: "example.com"})
	// Sent at once: the request waits for the server's SETTINGS by itself.
	st, err := c.Request(ctxT(t), wsConnect(), nil)
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	require.Equal(t, "websocket", h.Get("x-protocol"))
	require.Equal(t, "http", h.Get("x-scheme"))
	require.Equal(t, "/chat", h.Get("x-path"))
	_, err = st.Write([]byte("frame"))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = io.ReadFull(st, buf)
	require.NoError(t, err)
	require.Equal(t, "frame", string(buf))
	require.NoError(t, st.CloseWrite())
	_, err = io.ReadAll(st)
	require.NoError(t, err)
}

// TestExtendedConnectNotAdvertised: a server that did not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL resets a :protocol request, and our
// client does not even send one to it.
func TestExtendedConnectNotAdvertised(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: tunnelHandler})
	remote := p.handshake()
	require.False(t, remote.EnableConnectProtocol)
	p.request(1, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a")
	p.expectRST(1, ErrCodeProtocol)

	c := memPair(t, &Server{Handler: tunnelHandler}, nil)
	_, err := c.Request(ctxT(t), wsConnect(), nil)
	require.ErrorIs(t, err, ErrExtendedConnectDisabled)
}

func TestExtendedConnectAdvertised(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: tunnelHandler}
	srv.Options.Settings.EnableConnectProtocol = true
	p := newServerPeer(t, srv)
	remote := p.handshake()
	require.True(t, remote.EnableConnectProtocol)
	p.request(1, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a")
	h := p.expectHeaders(1)
	require.Equal(t, "websocket", h.Fields.Get("x-protocol"))
	// :protocol belongs to CONNECT only.
	p.request(3, true, ":method", "GET", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a")
	p.expectRST(3, ErrCodeProtocol)
}

func TestConnectRequestHeaders(t *testing.T) {
	s := &Session{opts: &Options{}, client: true, authority: "a:1"}
	out, err := s.completeRequestHeader(Header{{Name: "x", Value: "1"}, {Name: ":protocol", Value: "websocket"}, {Name: ":method", Value: "CONNECT"}, {Name: ":path", Value: "/ws"}})
	require.NoError(t, err)
	require.Equal(t, Header{{Name: ":method", Value: "CONNECT"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/ws"},
		{Name: ":authority", Value: "a:1"}, {Name: ":protocol", Value: "websocket"}, {Name: "x", Value: "1"}}, out)
	out, err = s.completeRequestHeader(Header{{Name: ":method", Value: "CONNECT"}, {Name: ":path", Value: "/ignored"}})
	require.NoError(t, err)
	require.Equal(t, Header{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: "a:1"}}, out, "a plain CONNECT")
	_, err = s.completeRequestHeader(Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}, {Name: ":protocol", Value: "websocket"}})
	require.ErrorIs(t, err, ErrInvalidHeader)
	_, err = s.completeRequestHeader(Header{{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"}})
	require.Error(t, err, "an extended CONNECT needs :path")
}
