package h2

import "time"

// Options.IdleTimeout closes a session once it has had no open stream and
// no busy handler for IdleTimeout, measured from when it last became so (as
// grpc-go's MaxConnectionIdle is), not from the last tick of a periodic timer:
// a stream that ended just before a tick must not close the session at it.
//
// Knowing when the session became idle must not cost a clock read per call:
// at one call at a time a session becomes idle on every call. So:
//
//   - a stream whose close leaves the session idle hands over its close
//     stamp, which closeLocked reads anyway (closedAt: a clock read on the
//     read path, the writer's pass time on the write path, at most one
//     writer pass early);
//   - a handler whose return leaves the session idle (its stream closed
//     before it returned) has no stamp at hand: it only marks the session
//     idle since "some time after the timer last fired", and the firing that
//     finds the mark counts the idle time from itself.
//
// The timer reads the clock only when it fires. The bound this gives: the
// session closes no sooner than IdleTimeout after it became idle (less at
// most one writer pass, for a stamp of the writer's), and no later than
// IdleTimeout after that, or 2×IdleTimeout when a handler outlived its
// stream, plus the timer's own latency.

// idleClose is the state of Options.IdleTimeout, nil without one (most
// sessions): under mu.
type idleClose struct {
	timer *time.Timer
	// since is when the session last became idle, in unix nanoseconds.
	since int64
	// unstamped says it became idle later than since, at an instant not
	// known: after the timer last fired.
	unstamped bool
}

// startIdleCloseLocked arms Options.IdleTimeout; the session starts idle.
func (s *Session) startIdleCloseLocked() {
	if s.opts.IdleTimeout <= 0 {
		return
	}
	s.idleClose = &idleClose{since: s.lastActivity.Load()}
	s.idleClose.timer = time.AfterFunc(s.opts.IdleTimeout, s.onIdle)
}

// streamEndedLocked records that st's close may have left the session idle.
func (s *Session) streamEndedLocked(st *Stream) {
	if s.idleClose != nil && len(s.streams) == 0 && s.handlersBusy == 0 {
		s.idleClose.since, s.idleClose.unstamped = st.stats.closed, false
	}
}

// handlerEndedLocked records that a handler's return may have left the
// session idle, after the stream it served closed.
func (s *Session) handlerEndedLocked() {
	if s.idleClose != nil && len(s.streams) == 0 && s.handlersBusy == 0 {
		s.idleClose.unstamped = true
	}
}

// stopIdleCloseLocked stops the timer with the session.
func (s *Session) stopIdleCloseLocked() {
	if s.idleClose != nil {
		s.idleClose.timer.Stop()
	}
}

// onIdle closes the session if it has been idle for IdleTimeout, and
// otherwise sets the timer for when it would have been.
func (s *Session) onIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	d := s.opts.IdleTimeout
	if len(s.streams) > 0 || s.handlersBusy > 0 {
		// Busy now: it becomes idle at the earliest now, so IdleTimeout
		// from now is the earliest it can close.
		s.idleClose.timer.Reset(d)
		return
	}
	now := time.Now().UnixNano()
	if s.idleClose.unstamped {
		s.idleClose.since, s.idleClose.unstamped = now, false
	}
	if left := time.Duration(s.idleClose.since + int64(d) - now); left > 0 {
		s.idleClose.timer.Reset(left)
		return
	}
	s.draining = true
	s.noNewStreams.Store(true)
	if !s.goAwaySent {
		s.sendGoAwayLocked(ErrCodeNo, s.lastPeerStream, []byte("idle timeout"))
	}
	s.beginCloseLocked(ErrIdleTimeout, 0, false)
}
