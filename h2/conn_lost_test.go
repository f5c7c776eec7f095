package h2

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// A peer that closes its connection (a killed process: FIN, no GOAWAY) must
// fail the streams that were open with ErrConnectionLost, never with the
// io.EOF that means a clean end; a stream the peer had ended keeps its end.
func TestConnectionLostFailsOpenStreamsNotEnded(t *testing.T) {
	goroutineLeakCheck(t)
	kill := make(chan struct{})
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		if st.Path() == "/done" {
			_, _ = st.End([]byte("body"), Header{{Name: "x-trailer", Value: "t"}})
			return
		}
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = st.Write([]byte("partial"))
		<-kill
		_ = st.Session().Conn().Close() // as if the process died: FIN, no GOAWAY
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	ctx := context.Background()
	req := func(path string) *Stream {
		// The request side stays open: the streams are half-closed (remote)
		// at most when the connection dies.
		st, err := c.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path}}, nil)
		require.NoError(t, err)
		_, err = st.Response(ctx)
		require.NoError(t, err)
		return st
	}
	done := req("/done")
	for !done.InboundEnded() {
		_, _ = done.Session().Ping(ctx, [8]byte{}) // a round trip for the END_STREAM to land
	}
	open := req("/open")
	close(kill)
	<-c.Done()

	body, err := io.ReadAll(done)
	require.NoError(t, err, "the stream the peer ended keeps its clean end")
	require.Equal(t, "body", string(body))
	require.Equal(t, "t", done.Trailers().Get("x-trailer"))

	_, err = io.ReadAll(open) // what it had buffered is dropped with the failure
	require.ErrorIs(t, err, ErrConnectionLost)
	require.ErrorIs(t, err, ErrPeerClosed)
	require.NotErrorIs(t, err, io.EOF)
	require.Contains(t, err.Error(), "the peer closed the connection")
	require.True(t, open.InboundEnded())
	require.ErrorIs(t, c.Err(), ErrConnectionLost)
	_, err = open.Write([]byte("x"))
	require.ErrorIs(t, err, ErrConnectionLost)
}

// A connection lost after a GOAWAY says so: the streams below its last
// stream id were being processed when the peer went away.
func TestConnectionLostAfterGoAwayNamesIt(t *testing.T) {
	goroutineLeakCheck(t)
	started := make(chan *Stream, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		started <- st
		<-st.Context().Done()
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	ctx := context.Background()
	st, err := c.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	sst := <-started
	require.NoError(t, sst.Session().GoAway(ErrCodeNo, nil))
	_, err = st.Response(ctx)
	require.NoError(t, err)
	for c.CanRequest() {
		_, _ = c.Ping(ctx, [8]byte{}) // until the GOAWAY is in
	}
	_ = sst.Session().Conn().Close()
	_, err = io.ReadAll(st)
	require.ErrorIs(t, err, ErrConnectionLost)
	require.NotErrorIs(t, err, ErrUnprocessed)
	require.Contains(t, err.Error(), "after its GOAWAY NO_ERROR with last stream 1")
}

// A client whose peer is not an HTTP/2 server (a TLS port, an HTTP/1 server)
// learns that, not just "EOF".
func TestClientOfNonHTTP2PeerSaysSo(t *testing.T) {
	for name, answer := range map[string]string{
		"closes at once (TLS server)": "",
		"answers HTTP/1.1":            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
		"answers a TLS alert":         "\x15\x03\x01\x00\x02\x02\x46",
	} {
		t.Run(name, func(t *testing.T) {
			goroutineLeakCheck(t)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer l.Close()
			go func() {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, len(ClientPreface))
				_, _ = io.ReadFull(conn, buf)
				_, _ = conn.Write([]byte(answer))
				_ = conn.Close()
			}()
			c := dialTest(t, l.Addr().String(), nil)
			st, err := c.Request(context.Background(), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
			if err == nil {
				_, err = st.Response(context.Background())
			}
			require.ErrorIs(t, err, ErrPeerNotHTTP2)
			require.Truef(t, errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrUnprocessed), "got %v", err)
		})
	}
}
