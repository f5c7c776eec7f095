package h2

import (
	"math"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
)

// reqKind is the sealed set of things the writer can be asked to send.
type reqKind uint8

const (
	reqHeaders reqKind = iota
	reqSettings
	reqSettingsAck
	reqPing
	reqPingAck
	reqRST
	reqGoAway
	reqWindowUpdate
	reqPriority
	reqPriorityUpdate
	reqPushPromise // streamID: the parent; u32: the promised stream; st: the promised stream
	reqExtFrame    // an extension frame (ALTSVC, ORIGIN): u32 is its type, data its payload
)

// frameReq is one queued frame request: a plain value so that queueing costs
// no allocation. Which fields matter depends on kind.
type frameReq struct {
	kind      reqKind
	streamID  uint32
	u32       uint32 // window increment, last stream id
	code      ErrCode
	st        *Stream // reqHeaders
	hdr       Header  // reqHeaders
	endStream bool
	skip      bool // decided under mu: not to be sent after all
	prio      *PriorityParam
	ping      [8]byte
	data      []byte // GOAWAY debug data, PRIORITY_UPDATE field value
	settings  Settings
}

// peerProvoked reports whether the peer can make us queue this kind of frame
// at will; those count against Limits.MaxQueuedControlFrames.
func (r *frameReq) peerProvoked() bool {
	return r.kind == reqPingAck || r.kind == reqSettingsAck || r.kind == reqRST
}

// hpackBuf collects the HPACK encoder's output between frames.
type hpackBuf struct{ b []byte }

func (h *hpackBuf) Write(p []byte) (int, error) { h.b = append(h.b, p...); return len(p), nil }

// queueLocked hands a frame to the writer and wakes it.
func (s *Session) queueLocked(r frameReq) {
	if s.enqueueLocked(r) {
		s.signalWriterAfterStarts()
	}
}

// enqueueLocked queues a frame for the writer without waking it, for a
// caller that wakes it after releasing mu; it reports whether r was queued.
// A peer that provokes more queued frames than the limit while not reading
// is cut off with ENHANCE_YOUR_CALM.
func (s *Session) enqueueLocked(r frameReq) bool {
	if s.closing && r.kind != reqGoAway {
		return false
	}
	if r.peerProvoked() {
		s.peerCtrl++
		if s.peerCtrl > s.opts.Limits.MaxQueuedControlFrames {
			s.beginCloseLocked(connErr(ErrCodeEnhanceYourCalm, "peer provoked more than %d queued control frames without reading", s.opts.Limits.MaxQueuedControlFrames), ErrCodeEnhanceYourCalm, true)
			return false
		}
	}
	if s.ctrl == nil {
		s.ctrl = frameBatches.Get().(*frameBatch)[:0]
	}
	s.ctrl = appendFrameReq(s.ctrl, r)
	return true
}

func (s *Session) signalWriter() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxUnlockedEncodes is how many batches one round of the writer encodes
// without mu before it encodes the next under it and takes DATA.
const maxUnlockedEncodes = 4

// flushThreshold is how many bytes the writer gathers before a write even
// when more work is queued; below it, it writes only when the queue is empty.
const flushThreshold = 256 << 10

// writeLoop is the session's only writer: it encodes queued frames and
// scheduled DATA under mu, and writes outside mu once the queue is drained.
func (s *Session) writeLoop() {
	defer close(s.writerExited)
	defer s.stopWriteDeadline()
	yielded := false
	s.mu.Lock()
	for {
		for len(s.ctrl) == 0 && !s.sched.hasWork(s) && len(s.wbuf) == 0 && !s.closing {
			s.releaseWriteBuf()
			s.releaseFrameBatches()
			s.writeAt = 0
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if s.wbuf == nil {
			s.borrowWriteBuf()
		}
		// HPACK encoding is the costly part of a small call's frames, and
		// nothing it touches is shared: it runs without mu, which the
		// callers queueing the next requests are waiting for. Frames queued
		// meanwhile are taken before any DATA: a SETTINGS ack must not
		// follow the DATA that the new settings' window let out (h2spec
		// 6.9.2 waits for them in that order), nor a PING ack wait behind a
		// body. The round ends when the buffer is full, so that it is sent.
		// Frames queued during every encode (a peer's flood of PINGs) would
		// keep DATA out for good: after a few passes the last is encoded
		// under mu, so that nothing more joins the queue before DATA.
		for passes := 0; len(s.ctrl) > 0 && !s.fullLocked(); passes++ {
			s.takeBatchLocked()
			if passes == maxUnlockedEncodes {
				s.encodeBatch()
				continue
			}
			s.mu.Unlock()
			if h := testHookEncode.Load(); h != nil {
				(*h)(s)
			}
			s.encodeBatch()
			s.mu.Lock()
		}
		s.fillDataLocked()
		more := len(s.ctrl) > 0 || s.sched.hasWork(s)
		if !more && len(s.wbuf) > 0 && !s.fullLocked() && !yielded {
			// Handlers that are about to respond usually do so within one
			// scheduling round: let them, and send their frames in the same write.
			yielded = true
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
			continue
		}
		if len(s.wbuf) > 0 && (!more || s.fullLocked()) {
			yielded = false
			n := s.gathered()
			buf, iov := s.takeOutLocked()
			s.beginWriteLocked()
			deadline := s.moveWriteDeadlineLocked()
			s.writeAt = 0 // the next write reads the clock again
			s.mu.Unlock()
			if !deadline.IsZero() {
				_ = s.conn.SetWriteDeadline(deadline)
			}
			err := s.writeConn(buf, iov)
			s.mu.Lock()
			s.stall.writing = false
			if iov != nil {
				s.releaseLentLocked(iov)
			}
			s.stats.addOut(n)
			s.wroteNow()
			s.wbuf = buf[:0]
			if err != nil {
				s.beginCloseLocked(s.lostLocked(err), 0, false)
				s.mu.Unlock()
				_ = s.conn.Close()
				return
			}
			continue
		}
		if s.closing && !more && len(s.wbuf) == 0 {
			s.mu.Unlock()
			s.shutWrite()
			return
		}
	}
}

// writeConn writes b, or iov (the pieces of b and lent slices) when not nil.
func (s *Session) writeConn(b []byte, iov net.Buffers) error {
	if iov != nil {
		// WriteTo consumes the Buffers it is called on; a session field
		// rather than the parameter, which would escape (one allocation
		// per write, vectored or not).
		s.iovOut = iov
		_, err := s.iovOut.WriteTo(s.conn)
		s.iovOut = nil
		return err
	}
	if tc, g := gathererOf(s.conn); g != nil {
		return g.writeGathered(tc, b)
	}
	_, err := s.conn.Write(b)
	return err
}

// shutWrite ends our side after the final GOAWAY: half-close where the
// connection allows it so the peer reads everything we sent before seeing EOF,
// and give the reader a moment to drain before the connection closes.
func (s *Session) shutWrite() {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := s.conn.(closeWriter); ok {
		_ = cw.CloseWrite()
		_ = s.conn.SetReadDeadline(time.Now().Add(time.Second))
		return
	}
	_ = s.conn.Close()
}

// takeBatchLocked takes the queued control frames for encoding and makes,
// in queue order, the decisions that depend on shared state: whether each
// frame still goes out, and the stream state its sending changes.
func (s *Session) takeBatchLocked() {
	if s.hencLimitSet {
		s.henc.SetMaxDynamicTableSizeLimit(s.encoderTableLimit(s.hencLimit))
		s.hencUse.limit(s.encoderTableLimit(s.hencLimit))
		s.memo.tableChanged() // and the next block must begin with the size update
		s.hencLimitSet = false
	}
	s.encMaxFrame = s.remote.MaxFrameSize
	s.batch, s.ctrl = s.ctrl, s.batch[:0]
	for i := range s.batch {
		r := &s.batch[i]
		if r.peerProvoked() {
			s.peerCtrl--
		}
		s.stats.FramesSent++
		switch r.kind {
		case reqHeaders:
			st := r.st
			if st.rstSent || (st.err != nil && !st.wire.hasHeaders()) {
				r.skip = true // reset before its headers left: the peer must never hear of it
				continue
			}
			st.touchLocked()
			if !st.wire.hasHeaders() {
				st.wire.headers()
				if st.state == stateReservedLocal {
					st.state = stateHalfClosedRemote // a pushed stream's response (§5.1)
				}
				s.sched.update(s, st)
			}
			if r.endStream {
				st.endSentLocked()
			}
		case reqRST:
			if r.st != nil && r.st.local() && !r.st.wire.hasHeaders() && !r.st.promiseSentLocked() {
				r.skip = true // the peer never heard of this stream
			}
		case reqPushPromise:
			if r.st.rstSent || r.st.err != nil {
				r.skip = true // the promised stream ended before it was announced
				continue
			}
			r.st.rare.push.promiseSent = true
		}
	}
}

// encodeBatch appends the frames takeBatchLocked took to wbuf, usually
// without mu: the encoder, wbuf and the batch are the writer's alone.
func (s *Session) encodeBatch() {
	for i := range s.batch {
		if r := &s.batch[i]; !r.skip {
			s.appendFrame(r)
		}
		s.batch[i] = frameReq{}
	}
	s.batch = s.batch[:0]
}

// testHookEncode, when set by a test, runs as the writer starts encoding a
// batch without the lock.
var testHookEncode atomic.Pointer[func(*Session)]

func (s *Session) appendFrame(r *frameReq) {
	switch r.kind {
	case reqHeaders:
		s.appendHeaderBlock(r.st.id, r.hdr, r.endStream, r.prio, s.encMaxFrame)
	case reqSettings:
		s.wbuf = AppendSettings(s.wbuf, r.settings.params()...)
	case reqSettingsAck:
		s.wbuf = appendSettingsAck(s.wbuf)
	case reqPing:
		s.wbuf = AppendPing(s.wbuf, false, r.ping)
	case reqPingAck:
		s.wbuf = AppendPing(s.wbuf, true, r.ping)
	case reqRST:
		s.wbuf = appendRSTStream(s.wbuf, r.streamID, r.code)
	case reqGoAway:
		s.wbuf = appendGoAway(s.wbuf, r.u32, r.code, r.data)
	case reqWindowUpdate:
		s.wbuf = appendWindowUpdate(s.wbuf, r.streamID, r.u32)
	case reqPriority:
		s.wbuf = appendPriority(s.wbuf, r.streamID, *r.prio)
	case reqPriorityUpdate:
		s.wbuf = appendPriorityUpdate(s.wbuf, r.streamID, string(r.data))
	case reqPushPromise:
		s.appendPushPromise(r.streamID, r.u32, r.hdr, s.encMaxFrame)
	case reqExtFrame:
		s.wbuf = appendRaw(s.wbuf, FrameType(r.u32), 0, r.streamID, r.data)
	}
}

// appendHeaderBlock HPACK-encodes hdr and splits it into HEADERS and
// CONTINUATION frames no larger than maxFrame, the peer's MAX_FRAME_SIZE.
// Only the writer goroutine calls it.
func (s *Session) appendHeaderBlock(id uint32, hdr Header, endStream bool, prio *PriorityParam, maxFrame uint32) {
	block := s.encodeBlock(hdr)
	max := int(maxFrame)
	first := block
	if prio != nil {
		max -= 5
	}
	if s.opts.Padding != nil {
		max-- // room for the Pad Length octet
	}
	if len(first) > max {
		first = first[:max]
	}
	block = block[len(first):]
	frameLen := len(first)
	if prio != nil {
		frameLen += 5
	}
	extra, pad := s.padding(frameLen, int(maxFrame))
	s.wbuf = appendPaddedHeaders(s.wbuf, id, endStream, len(block) == 0, prio, first, extra, pad)
	s.appendContinuations(id, block, maxFrame)
}

// encodeBlock HPACK-encodes hdr, or finds the block memoized. The result is
// valid until the next encoding.
func (s *Session) encodeBlock(hdr Header) []byte {
	block := s.memo.lookup(hdr)
	if block == nil {
		s.hbuf.b = s.hbuf.b[:0]
		for _, f := range hdr {
			_ = s.henc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive})
		}
		block = s.hbuf.b
		s.hencUse.follow(block)
		rememberIn(&s.memo).encoded(hdr, block)
	}
	return block
}

// appendContinuations sends the rest of a header block in CONTINUATION frames.
func (s *Session) appendContinuations(id uint32, block []byte, maxFrame uint32) {
	for len(block) > 0 {
		n := min(len(block), int(maxFrame))
		s.wbuf = appendContinuation(s.wbuf, id, n == len(block), block[:n])
		block = block[n:]
	}
}

// fillDataLocked moves scheduled stream data into the next write until it is
// full or nothing more can be sent.
func (s *Session) fillDataLocked() {
	for !s.fullLocked() {
		st := s.sched.next(s)
		if st == nil {
			break
		}
		s.writeStreamDataLocked(st)
		s.sched.update(s, st)
	}
}

// writeStreamDataLocked sends what one stream may send now: DATA frames up to
// its share, the send windows and the room left in the write, then
// END_STREAM or trailers once its buffer is empty and its writer closed it.
func (s *Session) writeStreamDataLocked(st *Stream) {
	for {
		pending := st.pendingLocked()
		if len(pending) == 0 {
			break
		}
		// A turn bounds a frame only when another stream waits for its own:
		// alone, a stream sends frames as large as the peer accepts, which
		// the peer may read in place (read_inplace.go).
		turn := math.MaxInt
		if s.sched.len() > 1 {
			turn = st.sched.turnLeft(len(pending), st.outOff == len(st.out))
		}
		n := int64(min(len(pending), int(s.remote.MaxFrameSize), turn))
		n = min(n, st.sendFlow.avail(), s.sendFlow.avail())
		lent := s.gather && st.outOff == len(st.out) && n >= vectoredMin && s.opts.Padding == nil
		n = min(n, int64(s.roomLocked(lent)))
		if n <= 0 {
			break
		}
		last := int(n) == st.pendingLen()
		end := last && st.queued.ended() && st.outTrailers == nil
		// Padding counts against both windows, as data does (§6.9.1).
		extra, pad := s.padding(int(n), int(min(int64(s.remote.MaxFrameSize), st.sendFlow.avail(), s.sendFlow.avail())))
		if lent {
			s.appendLentDataLocked(st, end, pending[:n])
		} else {
			s.wbuf = appendPaddedData(s.wbuf, st.id, end, pending[:n], extra, pad)
		}
		st.consumeLocked(int(n))
		st.touchLocked()
		s.stats.FramesSent++
		st.sendFlow.take(n + int64(extra))
		s.sendFlow.take(n + int64(extra))
		st.sched.spend(int(n), int(n) == len(pending))
		if st.stats.bytesSent == 0 {
			st.stats.firstByteSent = s.writerNowLocked()
		}
		st.stats.bytesSent += n
		if end {
			st.endSentLocked()
		}
		if st.writeWaiters > 0 && len(st.zc) == 0 {
			// Wake a blocked Write once its slice is framed, or as buffer room frees.
			st.signalLocked()
		}
		s.wakeMemWaitersLocked()
		if end || s.fullLocked() || st.sched.over() {
			return
		}
	}
	if st.pendingLen() == 0 && st.queued.ended() && !st.wire.ended() {
		if st.outTrailers != nil {
			s.appendHeaderBlock(st.id, st.outTrailers, true, nil, s.remote.MaxFrameSize)
		} else {
			s.wbuf = appendData(s.wbuf, st.id, true, nil)
		}
		s.stats.FramesSent++
		st.endSentLocked()
	}
}
