package h2

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pushServer answers "/" after pushing "/style.css" (answered with a body)
// and reports Push's result and the pushed stream's state after the promise.
func pushServer(pushErr chan<- error) *Server {
	return &Server{Handler: HandlerFunc(func(st *Stream) {
		_, _ = io.ReadAll(st)
		p, err := st.Push(Header{{Name: ":path", Value: "/style.css"}, {Name: "x-pushed", Value: "yes"}})
		pushErr <- err
		if err == nil {
			_ = p.Respond(Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "text/css"}}, &RespondOptions{Body: []byte("body{}")})
		}
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{Body: []byte("<html>")})
	})}
}

type pushed struct {
	parent   *Stream
	promised Header
	st       *Stream
}

func TestPushBothEnds(t *testing.T) {
	for _, perRequest := range []bool{true, false} {
		name := map[bool]string{true: "RequestOptions.OnPush", false: "Hooks.OnPush"}[perRequest]
		t.Run(name, func(t *testing.T) {
			goroutineLeakCheck(t)
			pushErr := make(chan error, 1)
			got := make(chan pushed, 1)
			opts := &ClientOptions{Authority: "example.com"}
			opts.Settings.EnablePush = true
			var ro *RequestOptions
			if perRequest {
				ro = &RequestOptions{EndStream: true, OnPush: func(h Header, st *Stream) { got <- pushed{nil, h, st} }}
			} else {
				ro = &RequestOptions{EndStream: true}
				opts.Hooks.OnPush = func(parent *Stream, h Header, st *Stream) { got <- pushed{parent, h, st} }
			}
			c := dialTest(t, newTestServer(t, pushServer(pushErr)), opts)
			st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, ro)
			require.NoError(t, err)
			require.NoError(t, <-pushErr)
			p := <-got
			if !perRequest {
				require.Same(t, st, p.parent)
			}
			require.Equal(t, Header{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/style.css"},
				{Name: ":authority", Value: "example.com"}, {Name: "x-pushed", Value: "yes"}}, p.promised)
			require.Equal(t, p.promised, p.st.PushPromise())
			require.Equal(t, uint32(2), p.st.ID())
			h, err := p.st.Response(ctxT(t))
			require.NoError(t, err)
			require.Equal(t, "text/css", h.Get("content-type"))
			body, err := io.ReadAll(p.st)
			require.NoError(t, err)
			require.Equal(t, "body{}", string(body))
			_, err = st.Response(ctxT(t))
			require.NoError(t, err)
			body, err = io.ReadAll(st)
			require.NoError(t, err)
			require.Equal(t, "<html>", string(body))
			require.Nil(t, st.PushPromise())
		})
	}
}

// TestPushPromiseAcceptedWhenEnabled is the bug of issue 17: a client that
// advertised ENABLE_PUSH tore the session down on the first PUSH_PROMISE.
func TestPushPromiseAcceptedWhenEnabled(t *testing.T) {
	goroutineLeakCheck(t)
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	got := make(chan *Stream, 1)
	opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) { got <- st }
	p := newClientPeer(t, opts)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	p.mustWrite(appendPushPromiseFrame(nil, 1, 2, true, p.encode(":method", "GET", ":scheme", "http", ":path", "/a", ":authority", "test")))
	ps := <-got
	require.Equal(t, "reserved (remote)", ps.State())
	p.mustWrite(appendHeaders(nil, 2, false, true, nil, p.encode(":status", "200")))
	p.mustWrite(appendData(nil, 2, true, []byte("pushed")))
	p.mustWrite(appendHeaders(nil, 1, true, true, nil, p.encode(":status", "204")))
	_, err = ps.Response(ctxT(t))
	require.NoError(t, err)
	b, err := io.ReadAll(ps)
	require.NoError(t, err)
	require.Equal(t, "pushed", string(b))
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "closed", ps.State())
	require.NoError(t, p.sess.Err(), "the session lives on")
}

// TestPushRefused: a client without a push hook, or whose hook resets the
// pushed stream, refuses it with RST_STREAM(CANCEL) and keeps the session.
func TestPushRefused(t *testing.T) {
	for _, hook := range []bool{false, true} {
		t.Run(map[bool]string{false: "no hook", true: "hook resets"}[hook], func(t *testing.T) {
			goroutineLeakCheck(t)
			opts := &ClientOptions{}
			opts.Settings.EnablePush = true
			if hook {
				opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) { st.Reset(ErrCodeCancel) }
			}
			p := newClientPeer(t, opts)
			p.serverHandshake()
			st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
			require.NoError(t, err)
			p.expectHeaders(1)
			p.mustWrite(appendPushPromiseFrame(nil, 1, 2, true, p.encode(":method", "GET", ":scheme", "http", ":path", "/a", ":authority", "test")))
			p.expectRST(2, ErrCodeCancel)
			// What the server sent before it saw the reset is ignored.
			p.mustWrite(appendHeaders(nil, 2, false, true, nil, p.encode(":status", "200")))
			p.mustWrite(appendData(nil, 2, true, []byte("late")))
			requireLives(t, p, st)
		})
	}
}

// TestPushPromiseProtocolErrors: promises a client must not take.
func TestPushPromiseProtocolErrors(t *testing.T) {
	cases := []struct {
		name   string
		enable bool
		frame  func(p *peer) []byte
		rst    ErrCode // RST_STREAM on stream 2, or
		conn   ErrCode // GOAWAY
	}{
		{"push disabled and acked", false, func(p *peer) []byte {
			return appendPushPromiseFrame(nil, 1, 2, true, p.encode(getRequest()...))
		}, 0, ErrCodeProtocol},
		{"odd promised id", true, func(p *peer) []byte {
			return appendPushPromiseFrame(nil, 1, 3, true, p.encode(getRequest()...))
		}, 0, ErrCodeProtocol},
		{"parent idle", true, func(p *peer) []byte {
			return appendPushPromiseFrame(nil, 5, 2, true, p.encode(getRequest()...))
		}, 0, ErrCodeProtocol},
		{"POST promised", true, func(p *peer) []byte {
			return appendPushPromiseFrame(nil, 1, 2, true, p.encode(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "a"))
		}, ErrCodeProtocol, 0},
		{"malformed promised request", true, func(p *peer) []byte {
			return appendPushPromiseFrame(nil, 1, 2, true, p.encode(":method", "GET", ":path", "/"))
		}, ErrCodeProtocol, 0},
		{"too short", true, func(p *peer) []byte {
			return appendRaw(nil, FramePushPromise, FlagEndHeaders, 1, []byte{0, 0})
		}, 0, ErrCodeFrameSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			goroutineLeakCheck(t)
			opts := &ClientOptions{}
			opts.Settings.EnablePush = tc.enable
			opts.Hooks.OnPush = func(*Stream, Header, *Stream) {}
			p := newClientPeer(t, opts)
			p.serverHandshake()
			st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
			require.NoError(t, err)
			p.expectHeaders(1)
			p.mustWrite(tc.frame(p))
			if tc.rst != 0 {
				p.expectRST(2, tc.rst)
				requireLives(t, p, st)
				return
			}
			p.expectGoAway(tc.conn)
		})
	}
}

// requireLives checks that the client session under test still works: the
// response the peer sends on st arrives.
func requireLives(t *testing.T, p *peer, st *Stream) {
	t.Helper()
	p.mustWrite(appendHeaders(nil, st.ID(), true, true, nil, p.encode(":status", "204")))
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "204", h.Get(":status"))
	require.NoError(t, p.sess.Err())
}

func TestPushPromiseWithContinuation(t *testing.T) {
	goroutineLeakCheck(t)
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	got := make(chan Header, 1)
	opts.Hooks.OnPush = func(_ *Stream, h Header, st *Stream) { got <- h; st.Reset(ErrCodeCancel) }
	p := newClientPeer(t, opts)
	p.serverHandshake()
	_, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	block := p.encode(":method", "GET", ":scheme", "http", ":path", "/split", ":authority", "test")
	p.mustWrite(appendPushPromiseFrame(nil, 1, 2, false, block[:3]))
	p.mustWrite(appendContinuation(nil, 1, true, block[3:]))
	require.Equal(t, "/split", (<-got).Get(":path"))
	p.expectRST(2, ErrCodeCancel)
}

func TestPushServerChecks(t *testing.T) {
	goroutineLeakCheck(t)
	type result struct {
		allowed          bool
		first, second    error
		afterEnd, nested error
		clientPush       error
	}
	res := make(chan result, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		var r result
		r.allowed = st.PushAllowed()
		p, err := st.Push(Header{{Name: ":path", Value: "/1"}})
		r.first = err
		if err == nil {
			_, r.nested = p.Push(Header{{Name: ":path", Value: "/n"}})
			_, r.second = st.Push(Header{{Name: ":path", Value: "/2"}}) // the client takes one at a time
			_ = p.Respond(nil, &RespondOptions{EndStream: true})
		}
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
		_, r.afterEnd = st.Push(Header{{Name: ":path", Value: "/late"}})
		res <- r
	})}
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	opts.Settings.MaxConcurrentStreams = 1
	opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) {
		go func() { _, _ = io.Copy(io.Discard, st) }()
	}
	c := memPair(t, srv, opts)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	r := <-res
	require.True(t, r.allowed)
	require.NoError(t, r.first)
	require.ErrorIs(t, r.second, ErrPushLimit)
	require.Error(t, r.nested)
	require.ErrorIs(t, r.afterEnd, ErrStreamClosed)
	_, err = st.Push(Header{{Name: ":path", Value: "/x"}})
	require.Error(t, err, "a client cannot push")
	_, err = (&Stream{s: c}).promiseHeader(Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}})
	require.Error(t, err, "only GET and HEAD can be promised")
}

func TestPushDisabledByDefault(t *testing.T) {
	goroutineLeakCheck(t)
	res := make(chan error, 2)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		if st.PushAllowed() {
			res <- nil
		} else {
			_, err := st.Push(Header{{Name: ":path", Value: "/1"}})
			res <- err
		}
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}
	c := memPair(t, srv, nil)
	_, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.ErrorIs(t, <-res, ErrPushDisabled)

	// UpdateSettings turns it on: the server sees it, and pushes.
	require.NoError(t, c.UpdateSettings(ctxT(t), Settings{EnablePush: true}))
	require.True(t, c.LocalSettings().EnablePush)
	_, err = c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.NoError(t, <-res)
}

// TestPushUnansweredIsReset: a push its parent's handler left unanswered is
// reset when that handler returns, freeing the client's stream slot.
func TestPushUnansweredIsReset(t *testing.T) {
	goroutineLeakCheck(t)
	pushedSt := make(chan *Stream, 1)
	got := make(chan *Stream, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		p, err := st.Push(Header{{Name: ":path", Value: "/never"}})
		if err == nil {
			pushedSt <- p
		}
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
		<-st.Done() // our END_STREAM is out, and the promise before it
	})}
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) { got <- st }
	c := memPair(t, srv, opts)
	_, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	sp := <-pushedSt
	<-sp.Done()
	code, ok := sp.ResetCode()
	require.True(t, ok)
	require.Equal(t, ErrCodeCancel, code)
	cp := <-got
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	_, err = cp.Response(ctx)
	var se *StreamError
	require.ErrorAs(t, err, &se)
	require.Equal(t, ErrCodeCancel, se.Code)
	require.Eventually(t, func() bool { return c.State().OpenStreams == 0 }, waitLong, time.Millisecond)
}
