package h2

import (
	"encoding/binary"
	"slices"
	"time"
)

func (s *Session) onPriority(fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connErr(ErrCodeProtocol, "PRIORITY on stream 0")
	}
	if len(p) != 5 {
		return streamErr(fh.StreamID, ErrCodeFrameSize, "PRIORITY length is not 5")
	}
	pp := parsePriority(p)
	if pp.StreamDep == fh.StreamID {
		return streamErr(fh.StreamID, ErrCodeProtocol, "stream depends on itself")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.streams[fh.StreamID]; st != nil {
		st.applyPriorityParam(pp)
		return nil
	}
	if s.isIdleLocked(fh.StreamID) {
		// Remember a few for streams about to open; the map is bounded so that
		// priority shuffling on idle streams (CVE-2019-9513) costs no memory.
		if s.idlePrio == nil {
			s.idlePrio = make(map[uint32]PriorityParam)
		}
		if len(s.idlePrio) < 64 {
			s.idlePrio[fh.StreamID] = pp
		}
	}
	return nil
}

func (s *Session) onPriorityUpdate(fh FrameHeader, p []byte) error {
	if fh.StreamID != 0 {
		return connErr(ErrCodeProtocol, "PRIORITY_UPDATE on stream %d", fh.StreamID)
	}
	if len(p) < 4 {
		return connErr(ErrCodeFrameSize, "PRIORITY_UPDATE too short")
	}
	id := binary.BigEndian.Uint32(p) & streamIDMask
	if id == 0 {
		return connErr(ErrCodeProtocol, "PRIORITY_UPDATE for stream 0")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.streams[id]; st != nil {
		s.sched.setPriority(st, ParsePriorityField(string(p[4:]), st.sched.prio.unpack()))
	}
	return nil
}

func (s *Session) onRSTStream(fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connErr(ErrCodeProtocol, "RST_STREAM on stream 0")
	}
	if len(p) != 4 {
		return connErr(ErrCodeFrameSize, "RST_STREAM length is not 4")
	}
	code := ErrCode(binary.BigEndian.Uint32(p))
	s.mu.Lock()
	if s.isIdleLocked(fh.StreamID) {
		s.mu.Unlock()
		return connErr(ErrCodeProtocol, "RST_STREAM on idle stream %d", fh.StreamID)
	}
	if !s.resetBucket.take(time.Now()) {
		s.mu.Unlock()
		return connErr(ErrCodeEnhanceYourCalm, "too many RST_STREAM frames (rapid reset)")
	}
	st := s.streams[fh.StreamID]
	if st == nil {
		// The peer closed its side too: nothing it sends later is in flight.
		s.recentRST.forget(fh.StreamID)
		s.mu.Unlock()
		return nil
	}
	if h := s.opts.Hooks.OnStreamReset; h != nil {
		// The hook sees the reset before anyone can observe the stream's error.
		// The stream cannot close meanwhile: only this goroutine closes it on
		// the peer's behalf, and a local close only makes failLocked a no-op.
		s.mu.Unlock()
		h(s, fh.StreamID, code)
		s.mu.Lock()
	}
	{
		err := &StreamError{StreamID: st.id, Code: code, Remote: true}
		if st.local() && !st.recv.hasHeaders() && code == ErrCodeRefusedStream {
			st.failLocked(&unprocessedError{streamID: st.id, cause: err})
		} else {
			st.failLocked(err)
		}
	}
	s.mu.Unlock()
	return nil
}

func (s *Session) onSettings(fh FrameHeader, p []byte) error {
	if fh.StreamID != 0 {
		return connErr(ErrCodeProtocol, "SETTINGS on stream %d", fh.StreamID)
	}
	if fh.Flags.Has(FlagAck) {
		if len(p) != 0 {
			return connErr(ErrCodeFrameSize, "SETTINGS ack with a payload")
		}
		return s.onSettingsAck()
	}
	if n := len(p) / 6; n > s.opts.Limits.MaxSettings {
		return connErr(ErrCodeEnhanceYourCalm, "SETTINGS frame with %d parameters, more than %d", n, s.opts.Limits.MaxSettings)
	}
	params, err := UnpackSettings(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	next := s.remote
	next.Custom = slices.Clone(next.Custom) // RemoteSettings' callers may hold the old one
	if !s.remoteSeen {
		s.remoteSeen = true
		next.MaxConcurrentStreams = Unlimited // drop the assumed 100: the peer says now
	}
	for _, sp := range params {
		next.apply(sp)
	}
	if s.remote.EnableConnectProtocol && !next.EnableConnectProtocol {
		s.mu.Unlock()
		return connErr(ErrCodeProtocol, "ENABLE_CONNECT_PROTOCOL back to 0 (RFC 8441 §3)")
	}
	if delta := int64(next.InitialWindowSize) - int64(s.remote.InitialWindowSize); delta != 0 {
		// §6.9.2: the change applies to every open stream; windows may go negative.
		for _, st := range s.streams {
			if !st.sendFlow.add(delta) {
				s.mu.Unlock()
				return connErr(ErrCodeFlowControl, "INITIAL_WINDOW_SIZE change overflows stream %d", st.id)
			}
			s.sched.update(s, st)
		}
	}
	if next.HeaderTableSize != s.remote.HeaderTableSize {
		s.hencLimit, s.hencLimitSet = next.HeaderTableSize, true // the writer's encoder: it applies it
	}
	s.remote = next
	s.queueLocked(frameReq{kind: reqSettingsAck})
	s.streamWaiters.Broadcast() // MAX_CONCURRENT_STREAMS may have grown
	s.mu.Unlock()
	if h := s.opts.Hooks.OnRemoteSettings; h != nil {
		h(s, next)
	}
	return nil
}

func (s *Session) onSettingsAck() error {
	s.mu.Lock()
	if len(s.pendingLocal) == 0 {
		s.mu.Unlock()
		return connErr(ErrCodeProtocol, "SETTINGS ack without pending SETTINGS")
	}
	acked := s.pendingLocal[0]
	s.pendingLocal = s.pendingLocal[1:]
	mf := s.local.MaxFrameSize
	for _, p := range s.pendingLocal {
		mf = max(mf, p.MaxFrameSize)
	}
	s.maxFrameIn.Store(mf)
	if ch := s.settingsWait[0]; ch != nil {
		close(ch)
	}
	s.settingsWait = s.settingsWait[1:]
	if len(s.pendingLocal) == 0 {
		// Nothing pending: an idle connection keeps no emptied arrays.
		s.pendingLocal, s.settingsWait = nil, nil
		if s.settingsTimer != nil {
			s.settingsTimer.Stop()
			s.settingsTimer = nil
		}
	}
	s.hdec.SetAllowedMaxDynamicTableSize(acked.HeaderTableSize)
	s.push.ackedOff = !acked.EnablePush
	s.mu.Unlock()
	if h := s.opts.Hooks.OnLocalSettingsAck; h != nil {
		h(s, acked)
	}
	return nil
}

// adjustRecvWindowsLocked changes every open stream's receive window when our
// INITIAL_WINDOW_SIZE changes.
func (s *Session) adjustRecvWindowsLocked(delta int64) {
	for _, st := range s.streams {
		st.recvFlow.add(delta) // our own change: it cannot overflow what we allowed
	}
}

func (s *Session) onWindowUpdate(fh FrameHeader, p []byte) error {
	if len(p) != 4 {
		return connErr(ErrCodeFrameSize, "WINDOW_UPDATE length is not 4")
	}
	incr := int64(binary.BigEndian.Uint32(p) & streamIDMask)
	s.mu.Lock()
	defer s.mu.Unlock()
	if fh.StreamID == 0 {
		if incr == 0 {
			return connErr(ErrCodeProtocol, "WINDOW_UPDATE with increment 0")
		}
		if !s.sendFlow.add(incr) {
			return connErr(ErrCodeFlowControl, "connection window above 2^31-1")
		}
		s.signalWriter()
		return nil
	}
	st := s.streams[fh.StreamID]
	if st == nil {
		if s.isIdleLocked(fh.StreamID) {
			return connErr(ErrCodeProtocol, "WINDOW_UPDATE on idle stream %d", fh.StreamID)
		}
		return nil
	}
	if incr == 0 {
		return streamErr(st.id, ErrCodeProtocol, "WINDOW_UPDATE with increment 0")
	}
	if !st.sendFlow.add(incr) {
		return streamErr(st.id, ErrCodeFlowControl, "stream window above 2^31-1")
	}
	s.sched.update(s, st)
	return nil
}

func (s *Session) onPing(fh FrameHeader, p []byte) error {
	if fh.StreamID != 0 {
		return connErr(ErrCodeProtocol, "PING on stream %d", fh.StreamID)
	}
	if len(p) != 8 {
		return connErr(ErrCodeFrameSize, "PING length is not 8")
	}
	var data [8]byte
	copy(data[:], p)
	if fh.Flags.Has(FlagAck) {
		s.onPingAck(data)
		return nil
	}
	s.mu.Lock()
	s.queueLocked(frameReq{kind: reqPingAck, ping: data})
	s.mu.Unlock()
	if h := s.opts.Hooks.OnPing; h != nil {
		h(s, data)
	}
	return nil
}

func (s *Session) onGoAway(fh FrameHeader, p []byte) error {
	if fh.StreamID != 0 {
		return connErr(ErrCodeProtocol, "GOAWAY on stream %d", fh.StreamID)
	}
	if len(p) < 8 {
		return connErr(ErrCodeFrameSize, "GOAWAY shorter than 8 bytes")
	}
	last := binary.BigEndian.Uint32(p) & streamIDMask
	code := ErrCode(binary.BigEndian.Uint32(p[4:]))
	debug := append([]byte(nil), p[8:]...)
	s.mu.Lock()
	if s.goAwayRecv && last > s.goAwayRecvID {
		last = s.goAwayRecvID // a later GOAWAY may only lower it (§6.8)
	}
	s.goAwayRecv, s.goAwayRecvID = true, last
	s.noNewStreams.Store(true)
	cause := &ConnError{Code: code, Remote: true, Reason: string(debug)}
	s.goAwayRecvErr = cause
	for _, st := range s.streams {
		if st.local() && st.id > last {
			st.failLocked(&unprocessedError{streamID: st.id, cause: cause})
		}
	}
	s.streamWaiters.Broadcast()
	if code != ErrCodeNo && s.closeErr == nil {
		s.closeErr = cause
	}
	s.maybeEndDrainLocked()
	s.mu.Unlock()
	if h := s.opts.Hooks.OnGoAway; h != nil {
		h(s, code, last, debug)
	}
	return nil
}
