package h2

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memPair serves srv over an in-memory pipe and returns a client session on
// the other end; both end at cleanup.
func memPair(t testing.TB, srv *Server, opts *ClientOptions) *Session {
	c, s := net.Pipe()
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.ServeConn(s)
	}()
	cs, err := NewClientSession(c, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		cs.Abort(ErrCodeNo, nil)
		<-served
	})
	return cs
}

// transports runs f over loopback TCP and over an in-memory pipe.
func transports(t *testing.T, srv func() *Server, f func(t *testing.T, c *Session)) {
	t.Run("loopback", func(t *testing.T) {
		goroutineLeakCheck(t)
		s := srv()
		f(t, dialTest(t, newTestServer(t, s), nil))
	})
	t.Run("memory", func(t *testing.T) {
		goroutineLeakCheck(t)
		f(t, memPair(t, srv(), nil))
	})
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

func post(path string) Header {
	return Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path}}
}

func TestBodiesBothWays(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB, more than one window update
	transports(t, func() *Server { return &Server{Handler: okHandler} }, func(t *testing.T, c *Session) {
		for i := 0; i < 3; i++ {
			status, got, err := roundTrip(ctxT(t), c, "/echo", body)
			require.NoError(t, err)
			require.Equal(t, "200", status)
			require.True(t, bytes.Equal(body, got), "echoed body differs (%d bytes back)", len(got))
		}
		// An empty body both ways.
		status, got, err := roundTrip(ctxT(t), c, "/empty", nil)
		require.NoError(t, err)
		require.Equal(t, "200", status)
		require.Empty(t, got)
	})
}

func TestTrailersBothWays(t *testing.T) {
	srv := func() *Server {
		return &Server{Handler: HandlerFunc(func(st *Stream) {
			body, err := io.ReadAll(st)
			if err != nil {
				st.Reset(ErrCodeInternal)
				return
			}
			_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "trailer", Value: "x-sum"}}, nil)
			_, _ = st.Write(body)
			_ = st.WriteTrailers(Header{{Name: "x-sum", Value: st.Trailers().Get("x-client")}, {Name: "x-len", Value: string(rune('0' + len(body)))}})
		})}
	}
	transports(t, srv, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/t"), nil)
		require.NoError(t, err)
		_, err = st.Write([]byte("abc"))
		require.NoError(t, err)
		require.NoError(t, st.WriteTrailers(Header{{Name: "x-client", Value: "v1"}}))
		require.ErrorIs(t, st.WriteTrailers(nil), ErrStreamClosed, "trailers end the stream")
		_, err = st.Write([]byte("late"))
		require.ErrorIs(t, err, ErrStreamClosed)
		h, err := st.Response(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, "x-sum", h.Get("trailer"))
		got, err := io.ReadAll(st)
		require.NoError(t, err)
		require.Equal(t, "abc", string(got))
		require.Equal(t, "v1", st.Trailers().Get("x-sum"))
		require.Equal(t, "3", st.Trailers().Get("x-len"))
		<-st.Done()
		require.NoError(t, st.Err())
		require.Equal(t, "closed", st.State())
	})
	// Pseudo-headers are refused in trailers before anything is sent.
	c := memPair(t, &Server{Handler: okHandler}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	require.Error(t, st.WriteTrailers(Header{{Name: ":status", Value: "200"}}))
}

func TestSetTrailersWithCloseWrite(t *testing.T) {
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_, _ = io.ReadAll(st)
		st.SetTrailers(Header{{Name: "grpc-status", Value: "0"}})
		_, _ = st.Write([]byte("x"))
		_ = st.CloseWrite()
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
	require.Equal(t, "0", st.Trailers().Get("grpc-status"))
}

func TestInformational(t *testing.T) {
	sendErrs := make(chan error, 3)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		sendErrs <- st.SendInformational(Header{{Name: ":status", Value: "200"}})
		sendErrs <- st.SendInformational(Header{{Name: ":status", Value: "101"}})
		_ = st.SendInformational(Header{{Name: ":status", Value: "103"}, {Name: "link", Value: "</a>; rel=preload"}})
		_ = st.SendInformational(Header{{Name: ":status", Value: "100"}})
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{EndStream: true})
		sendErrs <- st.SendInformational(Header{{Name: ":status", Value: "103"}})
	})}
	c := memPair(t, srv, nil)
	var mu sync.Mutex
	var seen []string
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{
		EndStream: true,
		OnInformational: func(h Header) {
			mu.Lock()
			seen = append(seen, h.Get(":status"))
			mu.Unlock()
		},
	})
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	mu.Lock()
	require.Equal(t, []string{"103", "100"}, seen)
	mu.Unlock()
	info := st.Informational()
	require.Len(t, info, 2)
	require.Equal(t, "</a>; rel=preload", info[0].Get("link"))
	for i := 0; i < 3; i++ {
		require.Error(t, <-sendErrs, "a final status, 101, or 1xx after the response must be refused")
	}
}

func TestResetCodeSurfaced(t *testing.T) {
	t.Run("server resets", func(t *testing.T) {
		goroutineLeakCheck(t)
		c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
			_ = st.Respond(nil, nil)
			_, _ = st.Write([]byte("partial"))
			st.Reset(ErrCodeCancel)
			code, ok := st.ResetCode()
			if !ok || code != ErrCodeCancel {
				panic("local ResetCode wrong")
			}
		})}, nil)
		st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		<-st.Done()
		_, err = io.ReadAll(st)
		var se *StreamError
		require.ErrorAs(t, err, &se)
		require.True(t, se.Remote)
		require.Equal(t, ErrCodeCancel, se.Code)
		require.Equal(t, st.ID(), se.StreamID)
		code, ok := st.ResetCode()
		require.True(t, ok)
		require.Equal(t, ErrCodeCancel, code)
		require.NotErrorIs(t, err, ErrUnprocessed, "CANCEL does not mean unprocessed")
	})
	t.Run("client resets", func(t *testing.T) {
		goroutineLeakCheck(t)
		got := make(chan error, 1)
		started := make(chan struct{})
		c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
			close(started)
			_, err := io.ReadAll(st)
			<-st.Context().Done()
			got <- err
		})}, nil)
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		_, err = st.Write([]byte("x"))
		require.NoError(t, err)
		<-started
		st.Reset(ErrCodeHTTP11Required)
		err = <-got
		var se *StreamError
		require.ErrorAs(t, err, &se)
		require.True(t, se.Remote)
		require.Equal(t, ErrCodeHTTP11Required, se.Code)
		_, err = st.Write([]byte("y"))
		require.Error(t, err, "writing after our own reset fails")
		code, ok := st.ResetCode()
		require.True(t, ok)
		require.Equal(t, ErrCodeHTTP11Required, code)
	})
	t.Run("handler returns without responding", func(t *testing.T) {
		goroutineLeakCheck(t)
		c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {})}, nil)
		st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		var se *StreamError
		require.ErrorAs(t, err, &se)
		require.Equal(t, ErrCodeInternal, se.Code)
	})
	t.Run("handler panics", func(t *testing.T) {
		goroutineLeakCheck(t)
		logged := make(chan string, 1)
		c := memPair(t, &Server{
			Handler:  HandlerFunc(func(st *Stream) { panic("boom") }),
			ErrorLog: func(format string, args ...any) { logged <- format },
		}, nil)
		st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		var se *StreamError
		require.ErrorAs(t, err, &se)
		require.Equal(t, ErrCodeInternal, se.Code)
		require.Contains(t, <-logged, "panic")
		// The session lives on: it still answers pings and serves streams.
		_, err = c.Ping(ctxT(t), [8]byte{})
		require.NoError(t, err)
		st, err = c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.ErrorAs(t, err, &se)
		require.NoError(t, c.Err())
	})
}

func TestStreamDeadline(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		select {
		case <-release:
		case <-st.Context().Done():
		}
	})}, nil)
	defer close(release)
	st, err := c.Request(ctxT(t), post("/slow"), nil)
	require.NoError(t, err)
	st.SetDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = st.Response(ctxT(t))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	_, err = st.Read(make([]byte, 10))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	_, err = st.Write([]byte("x"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	// Clearing the deadline makes the stream usable again.
	st.SetDeadline(time.Time{})
	_, err = st.Write([]byte("x"))
	require.NoError(t, err)
	// A deadline set while Read is blocked wakes it.
	errc := make(chan error, 1)
	go func() {
		_, err := st.Read(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	st.SetDeadline(time.Now().Add(20 * time.Millisecond))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(waitLong):
		t.Fatal("blocked Read not woken by its deadline")
	}
	st.Reset(ErrCodeCancel)
}

func TestResponseContextCanceled(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) { <-st.Context().Done() })}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = st.Response(ctx)
	require.ErrorIs(t, err, context.Canceled)
	st.Reset(ErrCodeCancel)
}

func TestPingRTT(t *testing.T) {
	goroutineLeakCheck(t)
	pinged := make(chan [8]byte, 4)
	srv := &Server{Handler: okHandler, Options: Options{Hooks: Hooks{OnPing: func(_ *Session, p [8]byte) { pinged <- p }}}}
	c := memPair(t, srv, nil)
	rtt, err := c.Ping(ctxT(t), [8]byte{1, 2, 3})
	require.NoError(t, err)
	require.Positive(t, rtt)
	require.Equal(t, [8]byte{1, 2, 3}, <-pinged)
	rtt2, err := c.Ping(ctxT(t), [8]byte{})
	require.NoError(t, err)
	require.Positive(t, rtt2)
	require.NotEqual(t, [8]byte{}, <-pinged, "a zero payload is replaced by a unique one")
	st := c.Stats()
	require.Equal(t, int64(2), st.PingsSent)
	require.Equal(t, rtt2, st.LastPingRTT)
	// A canceled context returns at once, having sent nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Ping(ctx, [8]byte{9})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int64(2), c.Stats().PingsSent)
}

func TestPingLimits(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, &ClientOptions{Options: Options{Limits: Limits{MaxOutstandingPings: 2}}})
	p.serverHandshake()
	errs := make(chan error, 2)
	for i := byte(1); i <= 2; i++ {
		go func() {
			_, err := p.sess.Ping(ctxT(t), [8]byte{i})
			errs <- err
		}()
	}
	var payloads [][8]byte
	for len(payloads) < 2 {
		f, _ := p.expect("PING", func(f rawFrame) bool { return f.Type == FramePing })
		require.False(t, f.Flags.Has(FlagAck))
		payloads = append(payloads, [8]byte(f.Payload))
	}
	_, err := p.sess.Ping(ctxT(t), [8]byte{3})
	require.ErrorIs(t, err, ErrTooManyPings)
	_, err = p.sess.Ping(ctxT(t), [8]byte{1})
	require.Error(t, err, "a duplicate or over-limit payload is refused")
	// An ack for a ping never sent is ignored; real acks complete the pings.
	p.mustWrite(AppendPing(nil, true, [8]byte{0xee}))
	for _, pl := range payloads {
		p.mustWrite(AppendPing(nil, true, pl))
	}
	for i := 0; i < 2; i++ {
		require.NoError(t, <-errs)
	}
	// The peer's own pings are acked with the same payload.
	p.mustWrite(AppendPing(nil, false, [8]byte{'h', 'i'}))
	f, _ := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
	require.Equal(t, []byte{'h', 'i', 0, 0, 0, 0, 0, 0}, f.Payload)
}

func TestUpdateSettingsAcked(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	remoteSeen := make(chan Settings, 4)
	srv := &Server{Handler: okHandler, OnSession: func(s *Session) { serverSess <- s },
		Options: Options{Hooks: Hooks{OnRemoteSettings: func(_ *Session, s Settings) { remoteSeen <- s }}}}
	acked := make(chan Settings, 4)
	c := memPair(t, srv, &ClientOptions{Options: Options{Hooks: Hooks{OnLocalSettingsAck: func(_ *Session, s Settings) { acked <- s }}}})
	ss := <-serverSess
	<-remoteSeen // the initial SETTINGS
	<-acked
	require.NoError(t, c.UpdateSettings(ctxT(t), Settings{MaxConcurrentStreams: 7, HeaderTableSize: 8192}))
	require.False(t, c.PendingSettingsAck())
	require.Equal(t, uint32(7), c.LocalSettings().MaxConcurrentStreams)
	require.Equal(t, uint32(7), (<-acked).MaxConcurrentStreams)
	require.Equal(t, uint32(7), (<-remoteSeen).MaxConcurrentStreams)
	require.Equal(t, uint32(7), ss.RemoteSettings().MaxConcurrentStreams)
	require.Equal(t, uint32(8192), ss.State().RemoteHeaderTableSize)
	require.Equal(t, uint32(8192), c.State().LocalHeaderTableSize)
	// Invalid settings are refused before anything is sent.
	require.Error(t, c.UpdateSettings(ctxT(t), Settings{MaxFrameSize: 100}))
	// The session still works with the new table size.
	status, _, err := roundTrip(ctxT(t), c, "/", []byte("z"))
	require.NoError(t, err)
	require.Equal(t, "200", status)
}

func TestSetLocalWindowSize(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	start := p.sess.State().LocalWindowSize
	require.Equal(t, int64(16<<20), start)
	require.NoError(t, p.sess.SetLocalWindowSize(64<<20))
	f, _ := p.expect("WINDOW_UPDATE", func(f rawFrame) bool { return f.Type == FrameWindowUpdate && f.StreamID == 0 })
	require.Equal(t, uint32(48<<20), uint32(f.Payload[0])<<24|uint32(f.Payload[1])<<16|uint32(f.Payload[2])<<8|uint32(f.Payload[3]))
	require.Equal(t, int64(64<<20), p.sess.State().LocalWindowSize)
	// Shrinking sends nothing and keeps the current window until it is used.
	require.NoError(t, p.sess.SetLocalWindowSize(1<<20))
	require.Equal(t, int64(64<<20), p.sess.State().LocalWindowSize)
	var ce *ConnError
	require.ErrorAs(t, p.sess.SetLocalWindowSize(1<<31), &ce)
	require.Equal(t, ErrCodeFlowControl, ce.Code)
}

func TestRoleAndProtocol(t *testing.T) {
	serverSess := make(chan *Session, 1)
	c := memPair(t, &Server{Handler: okHandler, OnSession: func(s *Session) { serverSess <- s }}, nil)
	ss := <-serverSess
	require.True(t, c.IsClient())
	require.False(t, ss.IsClient())
	require.Equal(t, "h2c", c.Protocol())
	require.False(t, c.Encrypted())
	require.NotNil(t, c.Conn())
	require.NotNil(t, c.LocalAddr())
	require.NotNil(t, c.RemoteAddr())
	_, err := ss.Request(ctxT(t), post("/"), nil)
	require.Error(t, err, "servers do not open streams")
	// Missing :method and :path take Node's defaults, GET and /.
	for _, h := range []Header{{{Name: ":path", Value: "/"}}, {{Name: ":method", Value: "GET"}}, {}} {
		st, err := c.Request(ctxT(t), h, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
	}
	_, err = c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}, {Name: "Bad", Value: "x"}}, nil)
	require.Error(t, err, "uppercase names are refused before sending")
	_, err = c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}, {Name: ":bogus", Value: "x"}}, nil)
	require.Error(t, err)
	require.NoError(t, c.Err())
}

// TestHandlerContextLifetime: a stream's context is live while its handler
// runs and canceled once it returns; the next stream (perhaps served by the
// same reused goroutine) starts with a live context of its own.
func TestHandlerContextLifetime(t *testing.T) {
	goroutineLeakCheck(t)
	ctxs := make(chan context.Context, 8)
	live := make(chan bool, 8)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		ctx := st.Context()
		live <- ctx.Err() == nil
		ctxs <- ctx
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}, nil)
	for i := 0; i < 5; i++ {
		st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
		require.True(t, <-live, "stream %d started with a canceled context", st.ID())
		ctx := <-ctxs
		select {
		case <-ctx.Done():
		case <-time.After(waitLong):
			t.Fatal("the context outlived its handler")
		}
	}
}
