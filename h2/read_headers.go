package h2

import (
	"strconv"
)

// maxInformational bounds the 1xx responses a stream accepts before its
// final response; real servers send one or two (100 Continue, 103 Early Hints).
const maxInformational = 16

// onHeaderBlock applies a complete header block: a new request (server), a
// response or informational response (client), or trailers (both).
func (s *Session) onHeaderBlock(fields Header) error {
	if !s.client && s.spare == nil {
		s.spare = s.allocStream() // before taking mu: a request may open a stream
	}
	s.lockAsReader()
	var err error
	if s.hb.promised != 0 {
		err = s.onPromiseBlockLocked(fields)
	} else {
		err = s.onHeaderBlockLocked(fields)
	}
	s.unlockAsReader()
	s.runPushHook()
	if f, h := s.infoCall, s.infoHeader; f != nil {
		// Called without the lock, so the callback may use the stream.
		s.infoCall, s.infoHeader = nil, nil
		f(h)
	}
	return err
}

func (s *Session) onHeaderBlockLocked(fields Header) error {
	hb := s.hb
	id := hb.streamID
	if hb.hasPrio && hb.prio.StreamDep == id {
		return streamErr(id, ErrCodeProtocol, "stream depends on itself")
	}
	if st := s.streams[id]; st != nil {
		return s.onStreamHeadersLocked(st, fields, hb)
	}
	if s.client || id%2 == 0 {
		if s.isIdleLocked(id) {
			return connErr(ErrCodeProtocol, "HEADERS on idle stream %d", id)
		}
		return nil // a stream of ours that we already closed or reset
	}
	if id <= s.lastPeerStream {
		if s.recentRST.has(id) {
			if !hb.endStream {
				// Only trailers (with END_STREAM) can follow a request's headers.
				return streamErr(id, ErrCodeProtocol, "second HEADERS without END_STREAM")
			}
			return nil
		}
		if s.recentClosed.has(id) {
			return connErr(ErrCodeStreamClosed, "HEADERS on closed stream %d", id)
		}
		// Never opened: a new stream id lower than one already used (§5.1.1).
		return connErr(ErrCodeProtocol, "stream id %d is lower than %d, already used", id, s.lastPeerStream)
	}
	s.lastPeerStream = id
	if s.goAwaySent && id > s.goAwaySentID || s.closing {
		return nil // opened after our GOAWAY: never processed, the client retries
	}
	if hb.tooBig {
		st := s.newStreamLocked(id, s.takeSpare())
		st.recv.headersIn()
		st.recvEndLocked()
		if !hb.endStream {
			st.rstAfterEnd = true
		}
		return st.respondLocked(Header{{Name: ":status", Value: "431"}}, true)
	}
	cl, reason := s.checkReceived(fields, kindRequest)
	if reason != "" {
		return streamErr(id, ErrCodeProtocol, reason)
	}
	if !s.local.EnableConnectProtocol && extendedConnect(fields) {
		return streamErr(id, ErrCodeProtocol, ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL")
	}
	if uint32(s.peerActive) >= s.local.MaxConcurrentStreams {
		return streamErr(id, ErrCodeRefusedStream, "MAX_CONCURRENT_STREAMS reached")
	}
	st := s.newStreamLocked(id, s.takeSpare())
	st.header, st.contentLength = fields, cl
	st.recv.headersIn()
	st.stats.firstHeader = st.stats.opened
	if p, ok := s.idlePrio[id]; ok {
		delete(s.idlePrio, id)
		st.applyPriorityParam(p)
	}
	if hb.hasPrio {
		st.applyPriorityParam(hb.prio)
	}
	if v := fields.Get("priority"); v != "" {
		s.sched.setPriority(st, ParsePriorityField(v, st.sched.prio.unpack()))
	}
	if hb.endStream {
		if cl > 0 {
			return streamErr(id, ErrCodeProtocol, "END_STREAM with content-length "+strconv.FormatInt(cl, 10))
		}
		st.endAfterHdr = true
		st.recvEndLocked()
	}
	return s.dispatchLocked(st)
}

// onStreamHeadersLocked handles HEADERS on a stream we know: a client's
// response (or 1xx), or trailers.
func (s *Session) onStreamHeadersLocked(st *Stream, fields Header, hb headerBlock) error {
	if st.recv.ended() {
		return streamErr(st.id, ErrCodeStreamClosed, "HEADERS after END_STREAM")
	}
	st.touchLocked()
	if st.state == stateReservedRemote {
		st.state = stateHalfClosedLocal // a pushed stream's response begins (§5.1)
	}
	if hb.tooBig {
		return streamErr(st.id, ErrCodeProtocol, "header list too large")
	}
	if hb.hasPrio {
		st.applyPriorityParam(hb.prio)
	}
	if s.client && !st.recv.hasHeaders() {
		cl, reason := s.checkReceived(fields, kindResponse)
		if reason != "" {
			return streamErr(st.id, ErrCodeProtocol, reason)
		}
		status := fields.Get(":status")
		if status[0] == '1' {
			if hb.endStream {
				return streamErr(st.id, ErrCodeProtocol, "informational response with END_STREAM")
			}
			r := st.rarePart()
			if len(r.informational) >= maxInformational {
				// Each one is kept for Informational: a server sending 1xx
				// without end would grow the stream without bound.
				return streamErr(st.id, ErrCodeEnhanceYourCalm, "more than "+strconv.Itoa(maxInformational)+" informational responses")
			}
			r.informational = append(r.informational, fields)
			s.infoCall, s.infoHeader = r.onInfo, fields
			return nil
		}
		if st.headRequest || status == "204" || status == "304" {
			cl = -1 // responses without content may still state a length (§8.1.1)
		}
		st.header, st.contentLength = fields, cl
		st.recv.headersIn()
		st.stats.firstHeader = s.lastActivity.Load()
		if hb.endStream {
			if cl > 0 && st.stats.bytesReceived != cl {
				return streamErr(st.id, ErrCodeProtocol, "END_STREAM before content-length bytes")
			}
			st.endAfterHdr = true
			st.recvEndLocked()
		}
		st.signalLocked()
		return nil
	}
	// Trailers.
	if !hb.endStream {
		return streamErr(st.id, ErrCodeProtocol, "second HEADERS without END_STREAM")
	}
	if _, reason := s.checkReceived(fields, kindTrailers); reason != "" {
		return streamErr(st.id, ErrCodeProtocol, reason)
	}
	if st.contentLength >= 0 && st.stats.bytesReceived != st.contentLength {
		return streamErr(st.id, ErrCodeProtocol, "body length does not match content-length")
	}
	st.trailers = fields
	st.trailersSet.Store(true)
	st.recvEndLocked()
	return nil
}

// takeSpare hands over the stream the reader allocated before taking mu.
func (s *Session) takeSpare() *Stream {
	st := s.spare
	s.spare = nil
	return st
}

func (st *Stream) applyPriorityParam(p PriorityParam) {
	st.sched.prio.weight = p.Weight
	st.sched.prio.parent = p.StreamDep
	st.sched.prio.exclusive = p.Exclusive
}
