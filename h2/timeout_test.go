package h2

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleTimerFiresOncePerQuietStretch: no call while there is activity,
// one call per stretch of inactivity, none after stop.
func TestIdleTimerFiresOncePerQuietStretch(t *testing.T) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	active := atomic.Bool{}
	active.Store(true)
	calls := make(chan struct{}, 10)
	done := make(chan struct{})
	tm := newIdleTimer(20*time.Millisecond, func() { calls <- struct{}{} }, func() int64 {
		if active.Load() {
			return time.Now().UnixNano()
		}
		return last.Load()
	}, done)
	defer tm.stop()
	time.Sleep(150 * time.Millisecond)
	require.Empty(t, calls, "always active: never idle")
	last.Store(time.Now().UnixNano())
	active.Store(false)
	<-calls
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, calls, "one call for one quiet stretch")
	last.Store(time.Now().UnixNano()) // activity, then quiet again
	<-calls
	tm.stop()
	last.Store(time.Now().UnixNano())
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, calls, "stopped")
}

func TestSessionSetTimeout(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: okHandler}, nil)
	fired := make(chan struct{}, 4)
	c.SetTimeout(30*time.Millisecond, func() { fired <- struct{}{} })
	<-fired
	require.NoError(t, c.Err(), "the callback decides; the session stays")
	_, err := c.Ping(ctxT(t), [8]byte{1}) // activity: the next quiet stretch fires again
	require.NoError(t, err)
	<-fired
	c.SetTimeout(0, nil)
}

// TestServerTimeout: Options.Timeout on a server closes idle sessions
// gracefully, or calls Hooks.OnTimeout instead when set.
func TestServerTimeout(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: okHandler, Options: Options{Timeout: 30 * time.Millisecond}}
	c := memPair(t, srv, nil)
	select {
	case <-c.Done():
	case <-time.After(waitLong):
		t.Fatal("the idle session was not closed")
	}
	require.NoError(t, c.Err(), "closed gracefully")

	hooked := make(chan *Session, 4)
	srv = &Server{Handler: okHandler, Options: Options{Timeout: 30 * time.Millisecond,
		Hooks: Hooks{OnTimeout: func(s *Session) { hooked <- s }}}}
	c = memPair(t, srv, nil)
	<-hooked
	status, _, err := roundTrip(ctxT(t), c, "/", []byte("still open"))
	require.NoError(t, err)
	require.Equal(t, "200", status)
}

func TestStreamSetTimeout(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		st.SetTimeout(30*time.Millisecond, func() { st.Reset(ErrCodeCancel) })
		_, _ = st.Read(make([]byte, 1)) // the client sends nothing
	})}
	c := memPair(t, srv, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	_, err = st.Response(ctx)
	var se *StreamError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, ErrCodeCancel, se.Code)
}
