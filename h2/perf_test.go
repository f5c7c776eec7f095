package h2

import (
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPerformanceHooks: each closed stream's entry, then the session's,
// reach the hooks (Node's PerformanceObserver entries), on both sides.
func TestPerformanceHooks(t *testing.T) {
	goroutineLeakCheck(t)
	var mu sync.Mutex
	var order []string
	streams := map[uint32]StreamStats{}
	var session SessionStats
	sessionDone := make(chan struct{})
	serverStreams := make(chan StreamStats, 2)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_, _ = io.Copy(io.Discard, st)
		_ = st.Respond(nil, &RespondOptions{Body: []byte("pong")})
	}), Options: Options{Hooks: Hooks{OnStreamPerformance: func(_ *Session, _ uint32, stats StreamStats) { serverStreams <- stats }}}}
	c := memPair(t, srv, &ClientOptions{Options: Options{Hooks: Hooks{
		OnStreamPerformance: func(s *Session, id uint32, stats StreamStats) {
			_ = s.Stats() // the hooks run without the session's lock
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "stream")
			streams[id] = stats
		},
		OnSessionPerformance: func(s *Session, stats SessionStats) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "session")
			session = stats
			close(sessionDone)
		},
	}}})
	_, err := c.Ping(ctxT(t), [8]byte{1})
	require.NoError(t, err)
	for range 2 {
		st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true, Body: []byte("ping!")})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
		_, err = io.ReadAll(st)
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
	<-sessionDone

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"stream", "stream", "session"}, order, "the session's entry comes last")
	for _, id := range []uint32{1, 3} {
		e := streams[id]
		require.False(t, e.Closed.IsZero(), "stream %d", id)
		require.False(t, e.FirstHeader.IsZero())
		require.False(t, e.FirstByte.IsZero())
		require.False(t, e.FirstByteSent.IsZero())
		require.GreaterOrEqual(t, e.TimeToFirstByte(), e.TimeToFirstByteSent(), "the answer came after the request's body left")
		require.GreaterOrEqual(t, e.TimeToFirstHeader(), e.TimeToFirstByteSent())
		require.Equal(t, int64(5), e.BytesSent)
		require.Equal(t, int64(4), e.BytesReceived)
	}
	require.Equal(t, int64(2), session.StreamsOpened)
	require.Positive(t, session.FramesSent)
	require.Positive(t, session.FramesReceived)
	require.Positive(t, session.LastPingRTT)
	require.Positive(t, session.AvgStreamDuration)

	e := <-serverStreams
	require.Equal(t, int64(5), e.BytesReceived)
	require.Equal(t, int64(4), e.BytesSent)
	require.False(t, e.FirstByteSent.IsZero())
}

// TestNoPerformanceHookNoGoroutine: without the hooks, no queue and no
// goroutine are made.
func TestNoPerformanceHookNoGoroutine(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: okHandler}, nil)
	require.Nil(t, c.perf)
}
