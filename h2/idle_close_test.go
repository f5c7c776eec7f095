package h2

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// idleTestTimeout is long enough that a request sent a quarter of it before
// the timer's first firing has ended by then on a loaded machine under -race.
const idleTestTimeout = time.Second

// waitIdleClosed waits for ss to end and requires that it ended by the idle
// timeout, and no sooner than idleTestTimeout after from.
func waitIdleClosed(t *testing.T, ss *Session, from time.Time) {
	t.Helper()
	select {
	case <-ss.Done():
	case <-time.After(waitLong):
		t.Fatal("idle session not closed")
	}
	idle := time.Since(from)
	require.ErrorIs(t, ss.Err(), ErrIdleTimeout)
	require.GreaterOrEqual(t, idle, idleTestTimeout, "closed after %v idle, less than the IdleTimeout", idle)
}

// TestIdleTimeoutCountsFromLastStream: a stream that ends just before the
// idle timer fires keeps the session open for a full IdleTimeout from its
// end; the timer used to close it at its firing, after almost no idle time.
func TestIdleTimeoutCountsFromLastStream(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	srv := &Server{
		Handler:   okHandler,
		OnSession: func(s *Session) { serverSess <- s },
		Options:   Options{IdleTimeout: idleTestTimeout},
	}
	begin := time.Now() // no later than the server session's timer starts
	c := memPair(t, srv, nil)
	ss := <-serverSess
	time.Sleep(time.Until(begin.Add(idleTestTimeout - idleTestTimeout/4)))
	// The server's stream opens after this, so it ends after it too.
	sent := time.Now()
	status, _, err := roundTrip(ctxT(t), c, "/", []byte("x"))
	require.NoError(t, err)
	require.Equal(t, "200", status)
	waitIdleClosed(t, ss, sent)
}

// TestIdleTimeoutCountsFromLastHandler: a handler that runs on after its
// stream closed keeps the session busy; the idle time counts from its
// return, though no stamp of that instant is taken.
func TestIdleTimeoutCountsFromLastHandler(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	responded := make(chan *Stream, 1)
	release := make(chan struct{})
	srv := &Server{
		Handler: HandlerFunc(func(st *Stream) {
			_ = st.Respond(nil, &RespondOptions{EndStream: true})
			responded <- st
			<-release
		}),
		OnSession: func(s *Session) { serverSess <- s },
		Options:   Options{IdleTimeout: idleTestTimeout},
	}
	begin := time.Now()
	c := memPair(t, srv, nil)
	ss := <-serverSess
	status, _, err := roundTrip(ctxT(t), c, "/", nil)
	require.NoError(t, err)
	require.Equal(t, "200", status)
	st := <-responded
	select {
	case <-st.Done(): // closed on the server too, its handler still running
	case <-time.After(waitLong):
		t.Fatal("server stream not closed")
	}
	time.Sleep(time.Until(begin.Add(idleTestTimeout - idleTestTimeout/4)))
	released := time.Now()
	close(release)
	waitIdleClosed(t, ss, released)
}

// TestIdleTimeoutClosesIdleSession: a session that never had a stream closes
// once IdleTimeout has passed since it began.
func TestIdleTimeoutClosesIdleSession(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	srv := &Server{
		Handler:   okHandler,
		OnSession: func(s *Session) { serverSess <- s },
		Options:   Options{IdleTimeout: idleTestTimeout},
	}
	begin := time.Now()
	c := memPair(t, srv, nil)
	waitIdleClosed(t, <-serverSess, begin)
	select {
	case <-c.Done():
	case <-time.After(waitLong):
		t.Fatal("client not closed after the idle GOAWAY")
	}
}
