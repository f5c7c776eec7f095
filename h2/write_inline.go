package h2

import "sync"

// Inline writes: a goroutine that queues frames (Request, Respond, Write,
// End, CloseWrite, WriteTrailers) writes them to the connection itself when
// nobody else is writing, instead of waking the writer goroutine and waiting
// for it to be scheduled. On an idle connection a call's frames then leave
// without a goroutine hand-off: the hand-off cost more than the write itself
// (on two CPUs the writer is often woken on the other one, a futex call and
// a cross-CPU wake-up before the first byte moves).
//
// Whoever encodes or writes holds the write token, Session.writing, taken
// and released under mu: the writer goroutine while it works, or a caller
// writing inline. The HPACK encoder, the output buffer and the batch belong
// to the token's holder, so frames are encoded in the order they were queued
// and written in the order they were encoded, whoever does it. Callers that
// find the token taken only queue their frames: the holder looks for queued
// work before it lets the token go, and wakes the writer goroutine when it
// leaves some behind. Under load the token is mostly held, so frames gather
// in the queue and leave in the writer's batches as before.
//
// A caller that will write its own frames sets Session.selfFlush while it
// holds mu: the wake-ups of the writer its queueing would cause are held
// back, and unlockAfterWrite writes or wakes the writer once, at the end.

// wakeWriterLocked wakes the writer goroutine for work just queued, unless
// someone else will see the work: the token's holder, which looks for more
// before it lets go, or the mu holder that is about to write inline.
func (s *Session) wakeWriterLocked() {
	if s.writing || s.selfFlush {
		return
	}
	s.signalWriter()
}

// lockToWrite takes mu for an operation that queues frames and may write
// them inline; unlockAfterWrite ends it.
func (s *Session) lockToWrite() {
	s.mu.Lock()
	s.selfFlush = true
}

// unlockAfterWrite sends what the operation queued, inline when it can, and
// releases mu.
func (s *Session) unlockAfterWrite() {
	s.selfFlush = false
	wake := false
	switch {
	case s.writing || !s.hasWriteWorkLocked():
		// Nothing queued, or the token's holder takes it along.
	case s.inlineOKLocked():
		s.writeInlineLocked()
	default:
		wake = true
	}
	s.mu.Unlock()
	if wake {
		// Woken only now: it would first wait for the lock we held.
		s.signalWriter()
	}
}

// inlineMaxStreams is how many open streams a session may have for its
// callers to write inline. With more, other callers' frames are likely to
// come within a scheduling round, and the writer goroutine's batches (one
// write for many calls) are worth more than the wake-up they cost: written
// inline at 64 concurrent unary calls, each call cost a write of its own,
// and calls/s fell by a third. Tests raise it to mix inline writes and the
// writer's under load.
var inlineMaxStreams = 1

// inlineOKLocked reports whether a caller may write its frames itself: on a
// socket that can be written without blocking, on a session with few open
// streams, when no earlier bytes wait for the writer goroutine (those are
// behind a full socket buffer), and not while the session closes (the
// writer sends the final frames and shuts the connection).
func (s *Session) inlineOKLocked() bool {
	return s.try != nil && len(s.streams) <= s.inlineMax && len(s.wbuf) == 0 && !s.closing
}

// writeInlineLocked takes the write token, encodes what is queued (frames
// queued by others while it encodes ride along) and writes it without
// blocking. What the socket does not take now, and anything queued since,
// is left to the writer goroutine, which it wakes.
func (s *Session) writeInlineLocked() {
	s.writing = true
	if s.wbuf == nil {
		s.borrowWriteBuf()
	}
	for {
		s.encodeQueuedLocked()
		s.fillDataLocked()
		if len(s.ctrl) == 0 || s.fullLocked() {
			break
		}
	}
	if len(s.wbuf) > 0 && s.extLen == 0 {
		// Lent slices (large bodies) are left to the writer's writev, which
		// their Write waits for anyway.
		buf := s.wbuf
		s.beginWriteLocked()
		s.mu.Unlock()
		n := s.try.try(buf)
		s.mu.Lock()
		s.stall.writing = false
		if n > 0 {
			s.inlineWrites++
			s.stats.addOut(n)
			s.wroteNow()
		}
		s.wbuf = buf[:copy(buf, buf[n:])]
	}
	s.writing = false
	if s.closing || s.hasWriteWorkLocked() {
		s.signalWriter()
		return
	}
	// The buffers stay while streams are open, for their next writes (a
	// pool round trip per message otherwise); the last stream's end gives
	// them back, so that an idle connection holds none.
	s.releaseIdleWriteBufsLocked()
}

// releaseIdleWriteBufsLocked gives the output buffer and the queue arrays
// back once the session has no stream and nobody holds the write token.
func (s *Session) releaseIdleWriteBufsLocked() {
	if len(s.streams) == 0 && !s.writing && len(s.wbuf) == 0 && len(s.ctrl) == 0 {
		s.releaseWriteBuf()
		s.releaseFrameBatches()
	}
}

// condWaitLocked waits on c for an operation between lockToWrite and
// unlockAfterWrite. mu is free for others during the wait, and what the
// operation queued so far may be what it waits for (room in the stream's
// buffer, a stream slot): the writer goroutine gets it now, and held-back
// wake-ups resume after the wait.
func (s *Session) condWaitLocked(c *sync.Cond) {
	self := s.selfFlush
	if self {
		s.selfFlush = false
		if !s.writing && (s.closing || s.hasWriteWorkLocked()) {
			s.signalWriter()
		}
	}
	c.Wait()
	s.selfFlush = self
}
