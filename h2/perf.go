package h2

// Performance entries, like those Node's PerformanceObserver receives for
// 'http2' (Http2Stream and Http2Session): when a stream closes, its final
// StreamStats go to Hooks.OnStreamPerformance; when the session ends, its
// final SessionStats go to Hooks.OnSessionPerformance, after every stream's.
//
// Streams close under the session's lock, where no callback may run (one
// that asked the stream for anything would wait for itself). So entries
// are queued there and handed over by a goroutine of their own, which
// exists only while one of the hooks is set: without them, a closing
// stream costs one nil check.

// perfEntries is the session's queue of stream entries (under s.mu) and
// the goroutine's wake-up.
type perfEntries struct {
	streams []streamPerf
	wake    chan struct{} // cap 1
}

type streamPerf struct {
	id    uint32
	stats StreamStats
}

// startPerf starts the delivery goroutine if a performance hook is set.
func (s *Session) startPerf() {
	h := &s.opts.Hooks
	if h.OnStreamPerformance == nil && h.OnSessionPerformance == nil {
		return
	}
	s.perf = &perfEntries{wake: make(chan struct{}, 1)}
	go s.perfLoop()
}

// streamPerfLocked queues a closing stream's entry.
func (s *Session) streamPerfLocked(st *Stream) {
	if s.perf == nil || s.opts.Hooks.OnStreamPerformance == nil {
		return
	}
	s.perf.streams = append(s.perf.streams, streamPerf{id: st.id, stats: st.stats.public()})
	select {
	case s.perf.wake <- struct{}{}:
	default:
	}
}

// perfLoop hands entries to the hooks until the session is done; then it
// hands over the last streams' and the session's own.
func (s *Session) perfLoop() {
	for {
		select {
		case <-s.perf.wake:
			s.deliverStreamPerf()
		case <-s.done:
			// Every stream was closed before done: the queue is complete.
			s.deliverStreamPerf()
			if h := s.opts.Hooks.OnSessionPerformance; h != nil {
				h(s, s.Stats())
			}
			return
		}
	}
}

func (s *Session) deliverStreamPerf() {
	s.mu.Lock()
	batch := s.perf.streams
	s.perf.streams = nil
	s.mu.Unlock()
	for _, e := range batch {
		s.opts.Hooks.OnStreamPerformance(s, e.id, e.stats)
	}
}
