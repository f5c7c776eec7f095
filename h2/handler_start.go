package h2

// Holding the writer's wake-up while handlers start. The reader hands the
// new streams of a read batch to handler goroutines all at once (32 under
// h2load -m 32). The first handler to respond used to wake the writer, which
// the Go scheduler runs next, ahead of the 31 handlers still waiting to
// start: it sent one response, yielded, and woke again for the rest. While a
// stream handed to a handler goroutine has not begun, frames queued by the
// handlers already running leave the writer asleep; the last handler to begin
// wakes it, and the writer, run after that handler, finds every response of
// the batch queued.
//
// A held wake-up always ends: a stream handed over is begun by a goroutine
// that is runnable (new, or woken through its inbox), whatever the handlers
// before it do. Only the hot paths hold (a queued frame, a stream ready to
// send); closing, a window update and a blocking Write wake the writer at once.

// handoffMade counts a stream handed to a handler goroutine that has not
// begun it; dispatchLocked calls it.
func (s *Session) handoffMade() { s.starting.Add(1) }

// handlerBegins is called by a handler goroutine as it begins a stream it was
// handed; the last of a batch gives the writer its held wake-up.
func (s *Session) handlerBegins() {
	if s.starting.Add(-1) == 0 && s.wakeHeld.Swap(false) {
		s.signalWriter()
	}
}

// signalWriterAfterStarts wakes the writer now, or once the handlers handed
// a stream have begun. The second look at starting closes the race with the
// last handlerBegins: either it sees wakeHeld set, or this call sees starting
// at zero and takes the wake-up back to give it itself.
func (s *Session) signalWriterAfterStarts() {
	if s.starting.Load() > 0 {
		s.wakeHeld.Store(true)
		if s.starting.Load() > 0 || !s.wakeHeld.Swap(false) {
			return
		}
	}
	s.signalWriter()
}
