package h2

// Tests of how the session lock is held: wake-ups after the reader lets go,
// encoding outside it.

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReaderWakesOncePerBatch: a response whose headers, body and trailers
// arrive in one read wakes the stream once, after all of them are applied,
// not once per frame: a unary call needs one wake-up (and one wait on the
// session lock), not three.
func TestReaderWakesOncePerBatch(t *testing.T) {
	p := newClientPeer(t, nil)
	var mu sync.Mutex
	wakes := map[uint32]int{}
	hook := func(st *Stream) {
		if st.s == p.sess { // other tests' timers may still fire
			mu.Lock()
			wakes[st.id]++
			mu.Unlock()
		}
	}
	testHookWake.Store(&hook)
	t.Cleanup(func() { testHookWake.Store(nil) })
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	var batch []byte
	batch = appendHeaders(batch, 1, false, true, nil, p.encode(":status", "200"))
	batch = appendData(batch, 1, false, []byte("body"))
	batch = appendHeaders(batch, 1, true, true, nil, p.encode("grpc-status", "0"))
	// The caller must be waiting when the batch comes, or there is no one
	// to wake (under load the reader could finish first: 0 wake-ups).
	type result struct {
		b   []byte
		err error
	}
	read := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(st)
		read <- result{b, err}
	}()
	require.Eventually(t, func() bool {
		p.sess.mu.Lock()
		defer p.sess.mu.Unlock()
		return st.rdBuf != nil
	}, 5*time.Second, time.Millisecond, "the reader is waiting")
	p.mustWrite(batch) // one write: the session reads it as one batch
	r := <-read
	require.NoError(t, r.err)
	require.Equal(t, "body", string(r.b))
	require.Equal(t, "0", st.Trailers().Get("grpc-status"))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, wakes[1], "one wake-up for the three frames")
}

// TestSignalsWaitForTheReaderToLetGo: while the reader holds the session
// lock, signalLocked only queues the stream (once); flushReaderWakes wakes it.
func TestSignalsWaitForTheReaderToLetGo(t *testing.T) {
	s := &Session{opts: &Options{}}
	st := &Stream{s: s}
	st.cond.L = &s.mu
	s.lockAsReader()
	st.signalLocked()
	st.signalLocked()
	s.unlockAsReader()
	require.Len(t, s.wakeQ, 1, "queued once")
	require.True(t, st.wakeDeferred)
	s.flushReaderWakes()
	require.Empty(t, s.wakeQ)
	require.False(t, st.wakeDeferred)

	s.mu.Lock()
	st.signalLocked() // not the reader: at once
	s.mu.Unlock()
	require.Empty(t, s.wakeQ)
}

// TestWriterEncodesWithoutTheLock: the writer HPACK-encodes a batch of
// header blocks without holding the session lock, so callers queueing the
// next requests do not wait for it.
func TestWriterEncodesWithoutTheLock(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	free := make(chan bool, 16)
	hook := func(s *Session) {
		if s == p.sess {
			ok := s.mu.TryLock()
			if ok {
				s.mu.Unlock()
			}
			select {
			case free <- ok:
			default:
			}
		}
	}
	testHookEncode.Store(&hook)
	t.Cleanup(func() { testHookEncode.Store(nil) })
	_, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	require.True(t, <-free, "the session lock was free while the writer encoded")
}

// TestContextIsMadeOnce: concurrent first calls to Context (it is made
// outside the lock) all get the same context, which the stream's reset
// cancels.
func TestContextIsMadeOnce(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan context.Context, 8)
	release := make(chan struct{})
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); got <- st.Context() }()
		}
		wg.Wait()
		close(release)
		<-st.Context().Done()
	})}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	<-release
	first := <-got
	for range 7 {
		require.Equal(t, first, <-got)
	}
	require.NoError(t, first.Err())
	st.Reset(ErrCodeCancel)
	select {
	case <-first.Done():
	case <-time.After(waitLong):
		t.Fatal("the reset did not cancel the stream's context")
	}
}

// TestContextAfterTheStreamFailed: a context first asked for after a reset
// is canceled already.
func TestContextAfterTheStreamFailed(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) { <-st.Context().Done() })}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	st.Reset(ErrCodeCancel)
	require.ErrorIs(t, st.Context().Err(), context.Canceled)
}
