package h2

import "sync/atomic"

// The reader hands work to other goroutines: it wakes streams blocked in
// Read or Response, and it starts handlers for new streams. It does both once
// per read batch (all the frames one read from the connection brought), after
// handling them, without holding mu:
//   - A caller woken per frame would wake for the response headers, again for
//     the message, again for the trailers; once per batch it finds them all.
//   - Waking a parked goroutine can take a futex call. Done with mu held,
//     every goroutine queued on mu waits out that call too, and on a busy
//     connection mu is the one lock everybody needs.

// lockAsReader takes mu for the reader goroutine: until it is released, the
// wake-ups and handler starts it causes are queued for the batch's end.
func (s *Session) lockAsReader() {
	s.mu.Lock()
	s.readerLocked = true
}

func (s *Session) unlockAsReader() {
	s.readerLocked = false
	s.mu.Unlock()
}

// flushReaderWakes does the queued wake-ups and handler starts; the reader
// calls it without mu. Waking outside mu is safe: a goroutine in Cond.Wait
// joined the wait list before mu was released to the reader, so the
// Broadcast finds it whenever it comes.
func (s *Session) flushReaderWakes() {
	for i, st := range s.wakeQ {
		st.wakeDeferred = false
		st.broadcast()
		s.wakeQ[i] = nil
	}
	s.wakeQ = s.wakeQ[:0]
	for i, h := range s.startQ {
		s.startHandler(h)
		s.startQ[i] = handoff{}
	}
	s.startQ = s.startQ[:0]
}

// signalLocked wakes whoever waits on st: now, or at the end of the read
// batch when the reader holds mu.
func (st *Stream) signalLocked() {
	if !st.s.readerLocked {
		st.broadcast()
		return
	}
	if !st.wakeDeferred {
		st.wakeDeferred = true
		st.s.wakeQ = append(st.s.wakeQ, st)
	}
}

func (st *Stream) broadcast() {
	if h := testHookWake.Load(); h != nil {
		(*h)(st)
	}
	st.cond.Broadcast()
}

// testHookWake, when set by a test, sees every wake-up of a stream.
var testHookWake atomic.Pointer[func(*Stream)]
