package h2

import (
	"sync"
	"sync/atomic"
	"time"
)

// Inactivity timeouts with a callback, like Node's session.setTimeout,
// stream.setTimeout and server.setTimeout with their 'timeout' events. A
// timeout fires once when nothing was read or written for its duration
// (on the session: any frame; on a stream: its HEADERS and DATA), and again
// only after a new period of activity went quiet. The callback decides what
// to do; nothing is closed for it. It runs on a timer's goroutine, without
// any lock: it may use the session or stream freely.

// idleTimer calls fn once per stretch of inactivity longer than d; last
// reports the last activity (unix nanoseconds).
type idleTimer struct {
	mu       sync.Mutex
	d        time.Duration
	fn       func()
	last     func() int64
	timer    *time.Timer
	firedFor int64 // the activity the last call was for
	stopped  bool
	done     <-chan struct{} // the session's end: the timer stops with it
}

func newIdleTimer(d time.Duration, fn func(), last func() int64, done <-chan struct{}) *idleTimer {
	t := &idleTimer{d: d, fn: fn, last: last, firedFor: -1, done: done}
	t.mu.Lock() // check may run before AfterFunc has returned
	t.timer = time.AfterFunc(d, t.check)
	t.mu.Unlock()
	return t
}

func (t *idleTimer) check() {
	t.mu.Lock()
	select {
	case <-t.done:
		t.stopped = true
	default:
	}
	if t.stopped {
		t.mu.Unlock()
		return
	}
	last := t.last()
	idle := time.Duration(time.Now().UnixNano() - last)
	fire := idle >= t.d && last != t.firedFor
	if fire {
		t.firedFor = last
	}
	next := t.d
	if idle < t.d {
		next = t.d - idle
	}
	t.timer.Reset(next)
	fn := t.fn
	t.mu.Unlock()
	if fire {
		fn()
	}
}

func (t *idleTimer) stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.stopped = true
	t.timer.Stop()
	t.mu.Unlock()
}

// sessionTimeout is a session's inactivity timeout.
type sessionTimeout struct {
	mu        sync.Mutex
	t         *idleTimer
	lastWrite atomic.Int64 // unix nanoseconds of the last write, kept while a timeout is set
	on        atomic.Bool
}

// SetTimeout calls fn when the session has read and written nothing for d,
// once per such stretch (Node's session.setTimeout and 'timeout'); d <= 0
// removes the timeout. Options.Timeout sets one from the start.
func (s *Session) SetTimeout(d time.Duration, fn func()) {
	st := &s.rarePart().timeout
	st.mu.Lock()
	defer st.mu.Unlock()
	st.t.stop()
	st.t = nil
	if d <= 0 || fn == nil {
		st.on.Store(false)
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	st.lastWrite.Store(time.Now().UnixNano())
	st.on.Store(true)
	st.t = newIdleTimer(d, fn, func() int64 { return max(s.lastActivity.Load(), st.lastWrite.Load()) }, s.done)
}

// wroteNow records a write for the session's timeout, if one is set.
func (s *Session) wroteNow() {
	if r := s.rare.Load(); r != nil && r.timeout.on.Load() {
		r.timeout.lastWrite.Store(time.Now().UnixNano())
	}
}

// startTimeout arms Options.Timeout: Hooks.OnTimeout decides, and without
// it the session is closed gracefully (as Node's server closes a session
// nobody listens to 'timeout' for).
func (s *Session) startTimeout() {
	if s.opts.Timeout <= 0 {
		return
	}
	s.SetTimeout(s.opts.Timeout, func() {
		if h := s.opts.Hooks.OnTimeout; h != nil {
			h(s)
			return
		}
		go s.Close()
	})
}

// stopTimeout ends the session's timeout with the session.
func (s *Session) stopTimeout() {
	r := s.rare.Load()
	if r == nil {
		return
	}
	r.timeout.mu.Lock()
	r.timeout.t.stop()
	r.timeout.mu.Unlock()
}

// streamWatch is what watches a stream from outside: its inactivity
// timeout, and the context whose end resets it (RequestOptions.ResetOnCancel).
type streamWatch struct {
	t          *idleTimer
	last       atomic.Int64
	stopCancel func() bool
	sides      sideDeadlines // SetDeadline, SetReadDeadline, SetWriteDeadline
	inQ        [][]byte      // buffers of inbound bytes queued behind Stream.in (streambuf.go)
	inQArr     [4][]byte     // inQ's first backing array
}

func (st *Stream) watchPart() *streamWatch {
	if st.watch == nil {
		st.watch = &streamWatch{}
	}
	return st.watch
}

// end releases what watches a stream that closed.
func (w *streamWatch) end() {
	w.t.stop()
	w.sides.stop()
	if w.stopCancel != nil {
		w.stopCancel()
	}
}

// SetTimeout calls fn when the stream has received and sent nothing
// (HEADERS or DATA) for d, once per such stretch (Node's stream.setTimeout
// and 'timeout'); d <= 0 removes it. It ends with the stream.
func (st *Stream) SetTimeout(d time.Duration, fn func()) {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.watch != nil {
		st.watch.t.stop()
		st.watch.t = nil
	}
	if d <= 0 || fn == nil || st.state == stateClosed {
		return
	}
	w := st.watchPart()
	w.last.Store(time.Now().UnixNano())
	w.t = newIdleTimer(d, fn, w.last.Load, s.done)
}

// touchLocked records activity on a stream that has a timeout.
func (st *Stream) touchLocked() {
	if st.watch != nil && st.watch.t != nil {
		st.watch.last.Store(time.Now().UnixNano())
	}
}
