package h2

import "time"

// The write deadline (Options.WriteTimeout) bounds each write to the
// connection. Setting it costs a timer update in the runtime's poller, so it
// moves only once a part of it is used up. Knowing when that is took a clock
// read per write (two per unary call, two per ping-pong round trip); a timer
// now tells the writer instead: it fires a quarter of the timeout after each
// move and sets deadlineAged, which the writer checks with one atomic load.
// A quarter rather than half, as the check by clock had it, so that a timer
// that fires late on a loaded machine still leaves every write more than half
// the timeout. An idle session's timer fires once and is armed again by the
// next move.

// moveWriteDeadlineLocked moves the write deadline before a write, on the
// writer goroutine, when none is set yet or a quarter of it has passed. It
// returns the deadline for the writer to set on the connection once it has
// released mu (a connection of the user's may take its time), or the zero
// time when the deadline stays.
func (s *Session) moveWriteDeadlineLocked() time.Time {
	if s.opts.WriteTimeout <= 0 || (!s.writeDeadline.IsZero() && !s.deadlineAged.Load()) {
		return time.Time{}
	}
	s.deadlineAged.Store(false)
	s.writeDeadline = time.Unix(0, s.writerNowLocked()).Add(s.opts.WriteTimeout)
	quarter := s.opts.WriteTimeout / 4
	if s.deadlineTimer == nil {
		s.deadlineTimer = time.AfterFunc(quarter, func() { s.deadlineAged.Store(true) })
	} else {
		s.deadlineTimer.Reset(quarter)
	}
	return s.writeDeadline
}

// stopWriteDeadline stops the timer when the writer, which alone touches it,
// exits.
func (s *Session) stopWriteDeadline() {
	if s.deadlineTimer != nil {
		s.deadlineTimer.Stop()
	}
}
