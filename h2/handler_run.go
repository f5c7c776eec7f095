package h2

import "runtime/debug"

// Handler goroutines. A session reuses the goroutines that served its
// streams: a goroutine start and its stack growth cost more than the handler
// of a small request. At most MaxConcurrentStreams serve at once and as many
// wait idle; all end with the session.
//
// New streams wait in handlerQueue in arrival order, and a goroutine that
// finishes a handler takes the next one itself, without a wake-up. Waking a
// goroutine per stream cost a wake-up and a park per request, with h2load's
// 32 streams in flight per connection as with one. Handlers may block,
// though, and a stream must never wait behind a handler that does: while
// streams wait and a goroutine may still be added, one is always on its way,
// woken and promised the first of them (spinning). As it begins, before its
// handler runs, it sends the next one on its way if streams still wait. So
// however long handlers block, each queued stream is begun by the goroutine
// woken for it or by one that finished a handler first; a read batch of 32
// requests wakes a few goroutines instead of 32.

// handlerLimit is how many handlers may run at once: what we advertise as
// MaxConcurrentStreams, so that a peer resetting streams as fast as it opens
// them (CVE-2023-44487) cannot make handler goroutines pile up.
func (s *Session) handlerLimit() int {
	return int(min(s.local.MaxConcurrentStreams, 1<<20))
}

// dispatchLocked queues a new stream for a handler goroutine. Streams beyond
// those the free goroutine slots will take count against
// Limits.MaxHandlerQueue; past it the session ends with ENHANCE_YOUR_CALM.
func (s *Session) dispatchLocked(st *Stream) error {
	free := max(s.handlerLimit()-int(s.handlersBusy), 0)
	if s.queuedLocked() >= free+s.opts.Limits.MaxHandlerQueue {
		return connErr(ErrCodeEnhanceYourCalm, "more than %d streams waiting for a handler", s.opts.Limits.MaxHandlerQueue)
	}
	s.handlerQueue = append(s.handlerQueue, st)
	if free > 0 {
		// A goroutine is on its way to it (kickLocked): until it begins,
		// the writer's wake-up may be held (handler_start.go).
		s.queueCounted++
		s.handoffMade()
	}
	s.kickLocked()
	return nil
}

// queuedLocked is how many streams wait for a handler goroutine.
func (s *Session) queuedLocked() int { return len(s.handlerQueue) - int(s.queueHead) }

// kickLocked puts a goroutine on its way to the queued streams unless one is:
// it promises the first of them to an idle goroutine, or to a new one.
func (s *Session) kickLocked() {
	if s.spinning || s.queuedLocked() == 0 {
		return
	}
	if int(s.handlersBusy) >= s.handlerLimit() {
		// None may be added: the queued streams wait for a handler to end,
		// which may take long, so they no longer hold the writer's wake-up.
		s.handoffsDropped(s.queueCounted)
		s.queueCounted = 0
		return
	}
	st, counted := s.popQueuedLocked()
	if st == nil {
		return
	}
	s.spinning = true
	s.handlersBusy++
	h := handoff{st: st, counted: counted}
	if n := len(s.idle); n > 0 {
		h.inbox = s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
	}
	if s.readerLocked {
		s.startQ = append(s.startQ, h) // once the reader lets go of mu
	} else {
		s.startHandler(h)
	}
}

// popQueuedLocked takes the first queued stream that was not reset while it
// waited, and whether it held the writer's wake-up; nil when none is left.
func (s *Session) popQueuedLocked() (*Stream, bool) {
	for s.queuedLocked() > 0 {
		st := s.handlerQueue[s.queueHead]
		s.handlerQueue[s.queueHead] = nil
		s.queueHead++
		// The counted streams are the queue's last queueCounted.
		counted := s.queuedLocked() < int(s.queueCounted)
		if counted {
			s.queueCounted--
		}
		if s.queuedLocked() == 0 {
			s.handlerQueue, s.queueHead = s.handlerQueue[:0], 0 // reuse the array
		}
		if st.err == nil {
			return st, counted
		}
		if counted {
			s.handlerBegins() // never begun: it holds nothing any more
		}
	}
	return nil, false
}

// handoff is a stream promised to a handler goroutine: to the inbox of an
// idle one, or (nil) to a new one.
type handoff struct {
	st      *Stream
	counted bool // it holds the writer's wake-up until begun (handler_start.go)
	inbox   chan handoff
}

func (s *Session) startHandler(h handoff) {
	if in := h.inbox; in != nil {
		h.inbox = nil
		in <- h // never blocks: the inbox was promised empty
		return
	}
	go s.runHandlers(h)
}

// runHandlers serves the stream it was promised, then the queued streams,
// then waits idle for the next promise. Idle ones are bounded like busy ones
// and end with the session: finish sends them an empty handoff.
func (s *Session) runHandlers(h handoff) {
	limit := int(min(s.opts.Settings.MaxConcurrentStreams, 1<<20))
	var inbox chan handoff // made when first idle
	for {
		// Begun: no longer on its way, so another must be if streams wait.
		s.mu.Lock()
		s.spinning = false
		s.kickLocked()
		s.mu.Unlock()
		st, counted := h.st, h.counted
		for st != nil {
			if counted {
				s.handlerBegins()
			}
			s.serveStream(st)
			s.mu.Lock()
			st.handlerDoneLocked()
			st, counted = s.popQueuedLocked()
			if st == nil {
				s.handlersBusy--
				s.handlerEndedLocked()
				s.maybeEndDrainLocked()
				if len(s.idle) >= limit || s.closing {
					s.mu.Unlock()
					return
				}
				if inbox == nil {
					inbox = make(chan handoff, 1)
				}
				s.idle = append(s.idle, inbox)
			}
			s.mu.Unlock()
		}
		// A plain receive, cheaper than a select with the session's end.
		if h = <-inbox; h.st == nil {
			return
		}
	}
}

func (s *Session) serveStream(st *Stream) {
	defer func() {
		if r := recover(); r != nil {
			if s.srv != nil {
				s.srv.logf("h2: panic serving stream %d: %v\n%s", st.id, r, debug.Stack())
			}
			st.Reset(ErrCodeInternal)
		}
	}()
	s.handler.ServeStream(st)
}
