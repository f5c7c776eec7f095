package h2

// Holding the writer's wake-up while handlers start. The reader queues the
// new streams of a read batch for handler goroutines all at once (32 under
// h2load -m 32; handler_run.go). The first handler to respond used to wake
// the writer, which the Go scheduler runs next, ahead of the handlers still
// waiting to start: it sent one response, yielded, and woke again for the
// rest. While a stream handed to handler goroutines has not begun, frames
// queued by the handlers already running leave the writer asleep; the last
// stream to begin wakes it, and the writer, run after that handler, finds
// every response of the batch queued.
//
// A held wake-up always ends: a stream counted here is promised to a
// goroutine that is runnable (new, or woken through its inbox), or queued
// while one is on its way, and queued streams that must wait for a busy
// handler to end are let go (handoffsDropped). Only the hot paths hold (a
// queued frame, a stream ready to send); closing, a window update and a
// blocking Write wake the writer at once.

// handoffMade counts a stream handed to handler goroutines that none has
// begun; dispatchLocked calls it.
func (s *Session) handoffMade() { s.starting.Add(1) }

// handlerBegins is called by a handler goroutine as it begins a counted
// stream; the last of a batch gives the writer its held wake-up.
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

// handoffsDropped forgets n streams counted by handoffMade that will not be
// begun soon: no goroutine is on its way to them.
func (s *Session) handoffsDropped(n int32) {
	if n > 0 && s.starting.Add(-n) == 0 && s.wakeHeld.Swap(false) {
		s.signalWriter()
	}
}
