package h2

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefensePushFlood: a server that promises far more pushes than our
// MAX_CONCURRENT_STREAMS allows gets each one beyond the limit refused with
// RST_STREAM(REFUSED_STREAM); the client keeps at most that many pushed
// streams, and its own request is still answered.
func TestDefensePushFlood(t *testing.T) {
	goroutineLeakCheck(t)
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	opts.Settings.MaxConcurrentStreams = 10
	var mu sync.Mutex
	var kept []*Stream
	opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) {
		mu.Lock()
		kept = append(kept, st) // taken, never read: they hold their slots
		mu.Unlock()
	}
	p := newClientPeer(t, opts)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	const n = 5000
	block := p.encode(":method", "GET", ":scheme", "http", ":path", "/flood", ":authority", "test")
	written := <-p.flood(n, func(i int, dst []byte) []byte {
		return appendPushPromiseFrame(dst, 1, uint32(2+2*i), true, block)
	})
	require.Equal(t, n, written)
	refused := 0
	for refused < n-10 {
		f, _ := p.expect("RST_STREAM(REFUSED_STREAM)", func(f rawFrame) bool { return f.Type == FrameRSTStream || f.Type == FrameGoAway })
		require.Equal(t, FrameRSTStream, f.Type, "%v", f)
		require.Equal(t, ErrCodeRefusedStream, f.code())
		refused++
	}
	mu.Lock()
	require.Len(t, kept, 10)
	mu.Unlock()
	require.LessOrEqual(t, p.sess.State().OpenStreams, 11)
	requireLives(t, p, st)
}

// TestDefensePushFloodUnwanted: promises to a client that wants none (no
// hook) cost a reset each and nothing else.
func TestDefensePushFloodUnwanted(t *testing.T) {
	goroutineLeakCheck(t)
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	p := newClientPeer(t, opts)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	const n = 5000
	block := p.encode(":method", "GET", ":scheme", "http", ":path", "/flood", ":authority", "test")
	written := <-p.flood(n, func(i int, dst []byte) []byte {
		return appendPushPromiseFrame(dst, 1, uint32(2+2*i), true, block)
	})
	require.Equal(t, n, written)
	for i := 0; i < n; i++ {
		f, _ := p.expect("RST_STREAM(CANCEL)", func(f rawFrame) bool { return f.Type == FrameRSTStream || f.Type == FrameGoAway })
		require.Equal(t, ErrCodeCancel, f.code(), "%v", f)
	}
	require.Equal(t, 1, p.sess.State().OpenStreams)
	requireLives(t, p, st)
}

// TestPushManyEndToEnd: a server pushing more than the client takes at once
// sees ErrPushLimit, never a broken session, and every accepted push arrives.
func TestPushManyEndToEnd(t *testing.T) {
	goroutineLeakCheck(t)
	accepted := make(chan int, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		n := 0
		for i := 0; i < 50; i++ {
			p, err := st.Push(Header{{Name: ":path", Value: "/p"}})
			if err != nil {
				require.ErrorIs(t, err, ErrPushLimit)
				continue
			}
			n++
			_ = p.Respond(nil, &RespondOptions{Body: []byte("x")})
		}
		accepted <- n
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	opts.Settings.MaxConcurrentStreams = 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	bodies := 0
	opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b, err := io.ReadAll(st); err == nil && string(b) == "x" {
				mu.Lock()
				bodies++
				mu.Unlock()
			}
		}()
	}
	c := memPair(t, srv, opts)
	st, err := c.Request(context.Background(), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	n := <-accepted
	require.GreaterOrEqual(t, n, 5)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	_, _ = io.ReadAll(st)
	wg.Wait()
	require.Equal(t, n, bodies)
}
