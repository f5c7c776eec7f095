package h2

import (
	"errors"
	"io"
	"time"
)

// readLoop is the session's only reader. It owns frame decoding, the HPACK
// decoder and the header block in progress; state shared with the writer and
// the application is changed under mu.
func (s *Session) readLoop() {
	err := s.readFrames()
	s.flushReaderWakes()
	var ce *ConnError
	if errors.As(err, &ce) && !ce.Remote {
		s.reportFrameError(0, 0, err)
		s.mu.Lock()
		err = s.garbledPrefaceLocked(err)
		s.mu.Unlock()
		s.closeWith(err, ce.Code)
	} else {
		s.mu.Lock()
		if !s.closing {
			if errors.Is(err, io.EOF) && (s.draining || s.goAwayRecv) && len(s.streams) == 0 {
				err = nil // the graceful end of a drained session
			} else {
				err = s.lostLocked(err) // open streams must not mistake it for their clean end
			}
			s.beginCloseLocked(err, 0, false)
		}
		s.mu.Unlock()
	}
	<-s.writerExited
	s.br.release()
	s.finish(err)
}

func (s *Session) readFrames() error {
	if !s.client {
		p, err := s.br.Peek(len(ClientPreface))
		if err != nil {
			return err
		}
		if string(p) != ClientPreface {
			return connErr(ErrCodeProtocol, "invalid connection preface")
		}
		_, _ = s.br.Discard(len(ClientPreface))
	}
	batchStart := true
	for {
		// Peeked, not read: a read of nine bytes from an empty buffer would
		// go to the connection on its own, and the payload in a second read.
		h, err := s.br.Peek(frameHeaderLen)
		if err != nil {
			return err
		}
		fh := parseFrameHeader(h)
		_, _ = s.br.Discard(frameHeaderLen)
		if batchStart {
			// The batch has arrived: one clock read stamps it (lastActivity),
			// for keepalive and for the stats of the streams it concerns.
			s.lastActivity.Store(s.opts.now())
			batchStart = false
		}
		n := int(fh.Length)
		if fh.Length > s.maxFrameIn.Load() {
			return connErr(ErrCodeFrameSize, "%s frame of %d bytes exceeds MAX_FRAME_SIZE", fh.Type, fh.Length)
		}
		var payload []byte
		var large *[]byte // a pooled buffer for a frame larger than br
		var owned []byte  // a stream buffer a large DATA frame is read into
		peeked := n <= s.br.Size()
		if peeked {
			payload, err = s.br.Peek(n)
		} else {
			if fh.Type == FrameData && fh.Flags&FlagPadded == 0 {
				payload = s.inPlaceTarget(fh.StreamID, n)
				if payload == nil {
					// Nobody waits for it whole: read it into a stream
					// buffer, which the stream keeps as its own if it has
					// nothing buffered (onData), instead of copying it there.
					owned = getStreamBuf(n + n/16)[:n] // room for the next frame's few bytes of the same message (appendBuffered)
					payload = owned
				}
			}
			if payload == nil {
				large = getLargeFrameBuf(n)
				payload = (*large)[:n]
			}
			// br hands over what it holds of the payload, then reads the
			// rest from the connection straight into payload.
			_, err = io.ReadFull(s.br, payload)
		}
		if err != nil {
			return err
		}
		s.stats.framesIn.Add(1)
		s.stats.bytesIn.Add(int64(n + frameHeaderLen))
		if err := s.handleFrame(fh, payload, &owned); err != nil {
			return err
		}
		if large != nil {
			largeFrameBufs.Put(large)
		}
		if owned != nil {
			putStreamBuf(owned)
		}
		if peeked {
			_, _ = s.br.Discard(n)
		}
		if !s.nextFrameBuffered() {
			// The batch read from the connection is used up: wake whom it
			// concerns before the next read can block.
			s.flushReaderWakes()
			batchStart = true
		}
	}
}

// nextFrameBuffered reports whether the next frame is wholly in the read
// buffer, so that handling it cannot block.
func (s *Session) nextFrameBuffered() bool {
	n := s.br.Buffered()
	if n < frameHeaderLen {
		return false
	}
	p, _ := s.br.Peek(frameHeaderLen)
	return frameHeaderLen+int(parseFrameHeader(p).Length) <= n
}

func (s *Session) reportFrameError(t FrameType, id uint32, err error) {
	if h := s.opts.Hooks.OnFrameError; h != nil {
		h(s, t, id, err)
	}
}

// handleFrame applies one frame. Stream errors are handled here (RST_STREAM);
// a returned error is a connection error and ends the session. When *owned
// is not nil, p is that stream buffer, which a DATA frame's stream may keep
// (it then sets *owned to nil).
func (s *Session) handleFrame(fh FrameHeader, p []byte, owned *[]byte) error {
	if s.hb.active && (fh.Type != FrameContinuation || fh.StreamID != s.hb.streamID) {
		return connErr(ErrCodeProtocol, "%s frame in the middle of a header block", fh.Type)
	}
	if !s.gotFirst {
		if fh.Type != FrameSettings || fh.Flags.Has(FlagAck) {
			return connErr(ErrCodeProtocol, "first frame from the peer is %s, not SETTINGS", fh.Type)
		}
		s.gotFirst = true
	}
	if fh.Type == FrameWindowUpdate || fh.Flags.Has(FlagAck) && (fh.Type == FramePing || fh.Type == FrameSettings) {
		s.peerReads.Add(1) // the peer read something of ours (stall.go)
	}
	var err error
	switch fh.Type {
	case FrameData:
		err = s.onData(fh, p, owned)
	case FrameHeaders:
		err = s.onHeadersFrame(fh, p)
	case FrameContinuation:
		err = s.onContinuation(fh, p)
	case FramePriority:
		err = s.onPriority(fh, p)
	case FrameRSTStream:
		err = s.onRSTStream(fh, p)
	case FrameSettings:
		err = s.onSettings(fh, p)
	case FramePushPromise:
		err = s.onPushPromise(fh, p)
	case FramePing:
		err = s.onPing(fh, p)
	case FrameGoAway:
		err = s.onGoAway(fh, p)
	case FrameWindowUpdate:
		err = s.onWindowUpdate(fh, p)
	case FramePriorityUpdate:
		err = s.onPriorityUpdate(fh, p)
	case FrameAltSvc:
		err = s.onAltSvc(fh, p)
	case FrameOrigin:
		err = s.onOrigin(fh, p)
	default:
		// Unknown frame types are ignored (§5.5).
	}
	if err == nil {
		return nil
	}
	var se *StreamError // declared after the nil check: errors.As makes it escape
	if errors.As(err, &se) {
		s.reportFrameError(fh.Type, fh.StreamID, err)
		s.lockAsReader()
		s.resetIDLocked(se)
		s.unlockAsReader()
		return nil
	}
	return err
}

// resetIDLocked sends RST_STREAM for a stream error, whether or not we keep
// state for the stream.
func (s *Session) resetIDLocked(se *StreamError) {
	if st := s.streams[se.StreamID]; st != nil {
		st.resetLocked(se)
		return
	}
	s.queueLocked(frameReq{kind: reqRST, streamID: se.StreamID, code: se.Code})
	s.recentRST.add(se.StreamID)
}

// isIdleLocked reports whether id names a stream that has not been opened yet.
func (s *Session) isIdleLocked(id uint32) bool {
	if id%2 == 1 == s.client { // ours
		return id >= s.nextStreamID
	}
	return id > s.lastPeerStream
}

// spendEmpty charges a frame that carries nothing against the empty-frame
// budget (CVE-2019-9518).
func (s *Session) spendEmpty() error {
	s.mu.Lock()
	ok := s.emptyBucket.take(time.Now())
	s.mu.Unlock()
	if !ok {
		return connErr(ErrCodeEnhanceYourCalm, "too many empty frames")
	}
	return nil
}

func (s *Session) onData(fh FrameHeader, p []byte, owned *[]byte) error {
	if fh.StreamID == 0 {
		return connErr(ErrCodeProtocol, "DATA on stream 0")
	}
	flowLen := int64(len(p))
	data, err := stripPadding(fh, p)
	if err != nil {
		return err
	}
	end := fh.Flags.Has(FlagEndStream)
	if len(data) == 0 && !end {
		if err := s.spendEmpty(); err != nil {
			return err
		}
	}
	s.lockAsReader()
	defer s.unlockAsReader()
	if !s.recvFlow.take(flowLen) {
		return connErr(ErrCodeFlowControl, "DATA exceeds the connection window")
	}
	st := s.streams[fh.StreamID]
	if st == nil || st.recv.ended() || st.err != nil {
		// Nobody will consume these bytes: give them back to the connection now.
		s.creditConnLocked(flowLen)
		if st == nil && s.isIdleLocked(fh.StreamID) {
			return connErr(ErrCodeProtocol, "DATA on idle stream %d", fh.StreamID)
		}
		if st == nil && s.recentRST.has(fh.StreamID) {
			return nil
		}
		return streamErr(fh.StreamID, ErrCodeStreamClosed, "DATA on a closed stream")
	}
	if !st.recv.hasHeaders() {
		return streamErr(st.id, ErrCodeProtocol, "DATA before HEADERS")
	}
	if !st.recvFlow.take(flowLen) {
		return streamErr(st.id, ErrCodeFlowControl, "DATA exceeds the stream window")
	}
	if pad := flowLen - int64(len(data)); pad > 0 {
		// Padding is never read by anyone: credit it at once.
		st.recvFlow.consumed(pad)
		s.recvFlow.consumed(pad)
	}
	st.touchLocked()
	st.stats.bytesReceived += int64(len(data))
	if st.stats.firstByte == 0 {
		st.stats.firstByte = s.lastActivity.Load()
	}
	if st.contentLength >= 0 && (st.stats.bytesReceived > st.contentLength || end && st.stats.bytesReceived != st.contentLength) {
		return streamErr(st.id, ErrCodeProtocol, "body length does not match content-length")
	}
	if st.discardIn {
		// Credit both windows as if read, or a client still sending would
		// stall until it gave up; it stops once it sees our END_STREAM.
		st.creditLocked(int64(len(data)))
	} else {
		if st.rdBuf != nil && st.inOff == len(st.in) {
			n := st.fillLentLocked(data)
			st.creditLocked(int64(n))
			data = data[n:]
		}
		switch {
		case len(data) == 0:
		case *owned != nil && st.inOff == len(st.in):
			// The frame was read into a stream buffer of its own (a large
			// frame, readFrames) and is all that is unread: keep that
			// buffer rather than copy the bytes into ours. data is its
			// tail (a waiting read may have taken the head).
			putStreamBuf(st.in)
			st.in, st.inOff = *owned, len(*owned)-len(data)
			*owned = nil
			s.adoptedFrames++
		case *owned != nil:
			// Behind unread bytes: queued in its own buffer (streambuf.go).
			// Nothing took its head, as nothing waits for the stream.
			st.queueInLocked(*owned)
			*owned = nil
			s.adoptedFrames++
		default:
			st.appendInLocked(data)
		}
	}
	if end {
		st.recvEndLocked() // signals
		return nil
	}
	// A ReadFramed is woken only once its unit is complete (or its buffer
	// full); other readers when the read batch ends (signalLocked defers
	// it), not per frame.
	if st.rdNeed == nil || st.framedDoneLocked() {
		st.signalLocked()
	}
	return nil
}

// headerBlock is a header block being received across HEADERS and CONTINUATION frames.
type headerBlock struct {
	active    bool
	streamID  uint32
	promised  uint32 // a PUSH_PROMISE's block: the promised stream (push.go)
	endStream bool
	prio      PriorityParam
	hasPrio   bool
	frames    int
	size      int
	fields    Header
	listSize  uint32
	maxList   uint32 // our MAX_HEADER_LIST_SIZE when the block began
	tooBig    bool
}

func (s *Session) onHeadersFrame(fh FrameHeader, p []byte) error {
	if fh.StreamID == 0 {
		return connErr(ErrCodeProtocol, "HEADERS on stream 0")
	}
	frag, err := stripPadding(fh, p)
	if err != nil {
		return err
	}
	hb := &s.hb
	*hb = headerBlock{active: true, streamID: fh.StreamID, endStream: fh.Flags.Has(FlagEndStream), fields: hb.fields[:0]}
	hb.fields = nil
	hb.maxList = s.maxListIn.Load()
	if fh.Flags.Has(FlagPriority) {
		if len(frag) < 5 {
			return connErr(ErrCodeFrameSize, "HEADERS too short for its priority fields")
		}
		hb.prio, hb.hasPrio = parsePriority(frag), true
		frag = frag[5:]
	}
	if len(frag) == 0 && !fh.Flags.Has(FlagEndHeaders) {
		if err := s.spendEmpty(); err != nil {
			return err
		}
	}
	return s.addFragment(frag, fh.Flags.Has(FlagEndHeaders))
}

func (s *Session) onContinuation(fh FrameHeader, p []byte) error {
	hb := &s.hb
	if !hb.active {
		if fh.StreamID == 0 {
			return connErr(ErrCodeProtocol, "CONTINUATION on stream 0")
		}
		return connErr(ErrCodeProtocol, "CONTINUATION without a header block in progress")
	}
	hb.frames++
	if hb.frames > s.opts.Limits.MaxContinuationFrames {
		return connErr(ErrCodeEnhanceYourCalm, "more than %d CONTINUATION frames in one header block", s.opts.Limits.MaxContinuationFrames)
	}
	if len(p) == 0 && !fh.Flags.Has(FlagEndHeaders) {
		if err := s.spendEmpty(); err != nil {
			return err
		}
	}
	return s.addFragment(p, fh.Flags.Has(FlagEndHeaders))
}

// addFragment feeds a header block fragment to the HPACK decoder. The decoder
// sees every block, even ones we will reject, to keep its table in sync; the
// block's compressed size is bounded so that decoding cost stays bounded too.
func (s *Session) addFragment(frag []byte, end bool) error {
	hb := &s.hb
	hb.size += len(frag)
	if limit := 2*int(hb.maxList) + 16<<10; hb.size > limit {
		return connErr(ErrCodeEnhanceYourCalm, "header block larger than %d bytes", limit)
	}
	whole := end && hb.size == len(frag) // the block came in this one fragment
	if whole {
		if fields := s.hmemoIn.lookupBlock(frag, hb.maxList); fields != nil {
			hb.active = false
			return s.onHeaderBlock(fields)
		}
	}
	s.hmemoIn.sawFragment(frag)
	if _, err := s.hdec.Write(frag); err != nil {
		return connErr(ErrCodeCompression, "%v", err)
	}
	if !whole {
		s.hbRaw = append(s.hbRaw, frag...)
	}
	if !end {
		return nil
	}
	if err := s.hdec.Close(); err != nil {
		return connErr(ErrCodeCompression, "%v", err)
	}
	if whole {
		s.hdecUse.follow(frag)
	} else {
		s.hdecUse.follow(s.hbRaw)
		s.hbRaw = s.hbRaw[:0]
		if cap(s.hbRaw) > 64<<10 {
			s.hbRaw = nil // a rare large block: not kept for the session's life
		}
	}
	hb.active = false
	fields := hb.fields
	hb.fields = nil
	if whole && !hb.tooBig {
		rememberIn(&s.hmemoIn).decoded(frag, fields)
	}
	return s.onHeaderBlock(fields)
}

// onHeaderField is the HPACK decoder's emit function.
func (s *Session) onHeaderField(name, value string, sensitive bool) {
	hb := &s.hb
	if hb.tooBig {
		return
	}
	f := HeaderField{Name: name, Value: value, Sensitive: sensitive}
	hb.listSize += f.size()
	if hb.listSize > hb.maxList || len(hb.fields) >= s.opts.Limits.MaxHeaderListPairs {
		hb.tooBig = true
		hb.fields = nil
		return
	}
	if hb.fields == nil {
		// Every field takes a byte at least, so the block's size bounds its
		// count: a repeated block, all indexed, gets exactly the room it needs
		// (a gRPC status trailer is one field, not eight).
		hb.fields = make(Header, 0, min(max(hb.size, 1), 16))
	}
	hb.fields = append(hb.fields, f)
}
