package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGoAwayLastStream(t *testing.T) {
	goroutineLeakCheck(t)
	sessions := make(chan *Session, 1)
	p := newServerPeer(t, &Server{Handler: okHandler, OnSession: func(s *Session) { sessions <- s }})
	p.handshake()
	p.startReader()
	s := <-sessions
	p.request(1, true)
	p.expectHeaders(1)
	require.NoError(t, s.GoAwayLastStream(ErrCodeNo, 0, []byte("pick")))
	f, _ := p.expect("GOAWAY", func(f rawFrame) bool { return f.Type == FrameGoAway })
	require.Zero(t, f.lastStreamID())
	require.Equal(t, "pick", string(f.Payload[8:]))
	require.Error(t, s.GoAwayLastStream(ErrCodeNo, 5, nil), "a later GOAWAY may not raise it")
	require.Error(t, s.GoAwayLastStream(ErrCodeNo, 1<<31, nil))
}

func TestPeerMaxConcurrentStreamsAssumed(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, &ClientOptions{Options: Options{PeerMaxConcurrentStreams: 3}})
	require.Equal(t, uint32(3), p.sess.RemoteSettings().MaxConcurrentStreams, "before the server's SETTINGS")
	p.serverHandshake()
	require.Equal(t, Unlimited, p.sess.RemoteSettings().MaxConcurrentStreams, "the server said nothing: unlimited")
}

// TestMaxEncoderTableSize: a negative limit keeps our HPACK encoder from
// indexing anything: the same request encodes to the same block twice,
// after a table size update to 0.
func TestMaxEncoderTableSize(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, &ClientOptions{Options: Options{MaxEncoderTableSize: -1}})
	p.serverHandshake()
	hdr := Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/x"}, {Name: "x-long-custom-field", Value: "value-value-value"}}
	var blocks [][]byte
	for i := 0; i < 2; i++ {
		st, err := p.sess.Request(ctxT(t), hdr, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		f := p.expectHeaders(st.ID())
		blocks = append(blocks, f.Payload)
		require.Equal(t, "value-value-value", f.Fields.Get("x-long-custom-field"))
	}
	require.Equal(t, byte(0x20), blocks[0][0], "a dynamic table size update to 0 first")
	require.Equal(t, blocks[0][1:], blocks[1], "nothing indexed: the second block is the same")

	s := &Session{opts: &Options{MaxEncoderTableSize: 100}}
	require.Equal(t, uint32(100), s.encoderTableLimit(4096))
	require.Equal(t, uint32(50), s.encoderTableLimit(50))
	s.opts.MaxEncoderTableSize = 0
	require.Equal(t, uint32(4096), s.encoderTableLimit(4096))
}

func TestStreamIntrospection(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		<-release
		_, _ = io.Copy(io.Discard, st)
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options: Options{Settings: Settings{InitialWindowSize: 16384}}}, nil)
	// The server's 16 KiB stream window must be in force before we write:
	// until its SETTINGS arrive a stream may send the RFC's 64 KiB.
	require.Eventually(t, func() bool { return c.RemoteSettings().InitialWindowSize == 16384 }, waitLong, 1e6)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	require.Eventually(t, st.HeadersSent, waitLong, 1e6)
	// More than the server's stream window: some of it waits in our buffer
	// (written in pieces small enough to be copied, not lent).
	for i := 0; i < 3; i++ {
		_, err = st.Write(bytes.Repeat([]byte("x"), 30000))
		require.NoError(t, err)
	}
	require.Positive(t, st.BufferSize())
	require.False(t, st.Closed())
	st.Reset(ErrCodeCancel)
	require.True(t, st.Aborted())
	require.True(t, st.Closed())
	require.Zero(t, st.BufferSize())
	close(release)

	st, err = c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	_, _ = io.ReadAll(st)
	require.Eventually(t, st.Closed, waitLong, 1e6)
	require.False(t, st.Aborted())
}

// TestResetOnCancel: with RequestOptions.ResetOnCancel, ending the
// request's context after the stream opened resets it with CANCEL (Node's
// signal); without it, the stream carries on.
func TestResetOnCancel(t *testing.T) {
	goroutineLeakCheck(t)
	codes := make(chan ErrCode, 2)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, nil)
		_, err := io.Copy(io.Discard, st)
		var se *StreamError
		if errors.As(err, &se) {
			codes <- se.Code
			return
		}
		codes <- ErrCodeNo
		_ = st.CloseWrite()
	})}, nil)
	for _, reset := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := c.Request(ctx, post("/"), &RequestOptions{ResetOnCancel: reset})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
		cancel()
		if reset {
			require.Equal(t, ErrCodeCancel, <-codes)
			code, ok := st.ResetCode()
			require.True(t, ok)
			require.Equal(t, ErrCodeCancel, code)
			continue
		}
		_, err = st.End([]byte("still going"), nil)
		require.NoError(t, err)
		require.Equal(t, ErrCodeNo, <-codes)
		_, err = io.ReadAll(st)
		require.NoError(t, err)
	}
}

func TestStreamWindows(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, &ClientOptions{Options: Options{Settings: Settings{InitialWindowSize: 70000}}})
	p.serverHandshake(Setting{SettingInitialWindowSize, 1000})
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	require.Equal(t, StreamWindows{Send: 1000, Recv: 70000}, st.Windows())
	p.expectHeaders(1)
	_, err = st.Write(make([]byte, 600))
	require.NoError(t, err)
	p.dataBytes(1, 600)
	require.Equal(t, int64(400), st.Windows().Send)
	p.mustWrite(appendHeaders(nil, 1, false, true, nil, p.encode(":status", "200")))
	p.mustWrite(appendData(nil, 1, false, make([]byte, 500)))
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.Windows().Recv == 69500 }, waitLong, 1e6)
}
