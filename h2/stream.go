package h2

import (
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// streamState is the RFC 9113 §5.1 state of a stream:
//
//	                         +--------+
//	                 send PP |        | recv PP
//	                ,--------+  idle  +--------.
//	               /         |        |         \
//	              v          +--------+          v
//	       +----------+          |           +----------+
//	       |          |          | send H /  |          |
//	,------+ reserved |          | recv H    | reserved +------.
//	|      | (local)  |          |           | (remote) |      |
//	|      +---+------+          v           +------+---+      |
//	|          |             +--------+             |          |
//	|          |     recv ES |        | send ES     |          |
//	|   send H |     ,-------+  open  +-------.     | recv H   |
//	|          |    /        |        |        \    |          |
//	|          v   v         +---+----+         v   v          |
//	|      +----------+          |           +----------+      |
//	|      |   half-  |          |           |   half-  |      |
//	|      |  closed  |          | send R /  |  closed  |      |
//	|      | (remote) |          | recv R    | (local)  |      |
//	|      +----+-----+          |           +-----+----+      |
//	|           |                |                 |           |
//	|           | send ES /      |       recv ES / |           |
//	|           | send R /       v        send R / |           |
//	|           | recv R     +--------+   recv R   |           |
//	| send R /  `----------->|        |<-----------'  send R / |
//	| recv R                 | closed |               recv R   |
//	`----------------------->|        |<-----------------------'
//	                         +--------+
//
// H = HEADERS (with CONTINUATIONs), ES = END_STREAM flag, R = RST_STREAM,
// PP = PUSH_PROMISE. Only pushed streams pass through the reserved states
// (push.go): a server's promised stream is reserved (local) until its
// response HEADERS leave, a client's reserved (remote) until they arrive.
type streamState uint8

const (
	stateIdle streamState = iota
	stateOpen
	stateHalfClosedLocal
	stateHalfClosedRemote
	stateClosed
	stateReservedLocal
	stateReservedRemote
)

var stateNames = [...]string{"idle", "open", "half-closed (local)", "half-closed (remote)", "closed", "reserved (local)", "reserved (remote)"}

func (s streamState) String() string { return stateNames[s] }

// Stream is one HTTP/2 stream: a request and its response. It is an io.Reader
// of the inbound body and an io.Writer of the outbound body; Write blocks while
// flow control or the stream's buffer say so. Methods are safe for concurrent
// use, though a body is normally read by one goroutine and written by one.
type Stream struct {
	s    *Session
	cond sync.Cond // L is &s.mu

	// The fields are ordered by width, so that no padding sits between
	// them: the struct must stay within 512 bytes (TestStreamFitsItsSizeClass).

	// Inbound: written by the reader goroutine, read by the application.
	header        Header // server: request headers; client: final response headers
	trailers      Header
	in            []byte
	inOff         int
	rdBuf         []byte // a waiting Read's buffer, filled directly by the reader
	rdN           int
	rdNeed        func(got []byte) int // a ReadFramed's framing rule (read_framed.go)
	recvFlow      flow                 // what the peer may still send on the stream (flow.go)
	contentLength int64                // the request's or response's content-length, or -1

	// Outbound: written by the application, drained by the writer.
	out         []byte
	outOff      int
	sendFlow    sendWindow // what we may still send on the stream (flow.go)
	outHeader   Header     // our final headers (server: response; client: request), once queued
	outTrailers Header
	zc          []byte      // a large Write's own slice, or an owned buffer's rest, lent to the writer until framed (or written: vectored.go)
	owned       *ownedQueue // WriteOwned's large buffers, while the stream holds any (owned_queue.go)
	zcFramed    int         // bytes of the lent slice framed so far

	err error // why the stream ended abnormally: *StreamError or a session error

	// The stream's context (stream_context.go): ctxState guards both,
	// without mu. ctxDeadline is fixed by the first to ask for the context,
	// ctxMade made by the first to wait on it.
	ctxMade     *madeContext
	ctxDeadline int64         // unix nanoseconds; 0: none
	done        chan struct{} // made by the first Done: nil until someone asks

	stats streamStats // its bytesReceived is also what content-length is checked against

	// rare is nil unless the stream takes part in server push or has
	// informational (1xx) responses (stream_rare.go); watch unless it has
	// an inactivity timeout, a context that resets it (timeout.go), a
	// deadline (stream_deadline.go) or inbound bytes queued behind in
	// (streambuf.go): most streams have none of these.
	rare  *streamRare
	watch *streamWatch

	sched streamSched // 16 bytes: the priority packed (sched.go)

	id           uint32
	trailersSet  atomic.Bool  // trailers are in: Trailers needs no lock
	ctxState     atomic.Int32 // how far the context got, and whether the stream ended (stream_context.go)
	writeWaiters int32        // Writes blocked on this stream
	zcInFlight   int32        // pieces of zc framed without a copy and not yet written (vectored.go)

	state        streamState
	rstSent      bool
	recv         recvHalf // the peer's side: headers due, body, ended (stream_halves.go)
	rdInPlace    bool     // the waiting read lets the reader fill rdBuf from the connection, unlocked
	wakeDeferred bool     // on the session's wakeQ
	headRequest  bool     // client: the request was HEAD, so the response has no content
	endAfterHdr  bool     // the peer's HEADERS (request or response) carried END_STREAM
	queued       sendStep // what we handed to the writer: final headers, the end (stream_halves.go)
	wire         sendStep // what the writer put on the wire: HEADERS (1xx too), END_STREAM
	rstAfterEnd  bool     // send RST_STREAM(NO_ERROR) once our END_STREAM is out (§8.1)
	memBlocked   bool
	writing      bool // a Write holds the sending side until it returns (stream_write.go)
	discardIn    bool // the handler is gone: inbound DATA is dropped and credited at once
}

// newStreamLocked opens stream id, from st if allocStream made it before mu
// was taken, or from a new one when st is nil.
func (s *Session) newStreamLocked(id uint32, st *Stream) *Stream {
	if st == nil {
		st = s.allocStream()
	}
	st.id = id
	st.recvFlow.win = int64(s.local.InitialWindowSize)
	st.sendFlow.win = int64(s.remote.InitialWindowSize)
	st.sched.prio = defaultPrio
	if st.local() {
		st.stats.opened = s.opts.now()
	} else {
		st.stats.opened = s.lastActivity.Load() // the batch that brought its HEADERS
	}
	s.streams[id] = st
	s.stats.StreamsOpened++
	if n := len(s.streams); n > s.stats.PeakConcurrentStreams {
		s.stats.PeakConcurrentStreams = n
	}
	if st.local() {
		s.localActive++
	} else {
		s.peerActive++
	}
	return st
}

// allocStream makes the parts of a stream that need no session state. It
// runs before mu is taken where it can (Request, and the reader's spare):
// allocating under mu makes everyone queued on mu wait out the allocation,
// and sometimes a GC assist with it.
func (s *Session) allocStream() *Stream {
	st := &Stream{s: s, state: stateOpen, contentLength: -1}
	st.cond.L = &s.mu
	return st
}

// local reports whether we initiated the stream.
func (st *Stream) local() bool { return st.id%2 == 1 == st.s.client }

// ID is the stream identifier.
func (st *Stream) ID() uint32 { return st.id }

// Session is the session the stream belongs to.
func (st *Stream) Session() *Session { return st.s }

// State is the stream's RFC 9113 §5.1 state.
func (st *Stream) State() string {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.state.String()
}

// Header returns the request headers on a server stream, and the final
// response headers on a client stream once Response has returned.
func (st *Stream) Header() Header {
	if !st.s.client {
		// A request's header (and a push's promised request) is set before
		// the stream is published (to the handler, or in s.streams) and
		// never changes: no lock, which every handler would otherwise queue
		// on behind the busy reader.
		return st.header
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.header
}

// Method, Path, Authority and Scheme return request pseudo-headers.
func (st *Stream) Method() string    { return st.Header().Get(":method") }
func (st *Stream) Path() string      { return st.Header().Get(":path") }
func (st *Stream) Authority() string { return st.Header().Get(":authority") }
func (st *Stream) Scheme() string    { return st.Header().Get(":scheme") }

// Informational returns the 1xx responses a client stream received.
func (st *Stream) Informational() []Header {
	if !st.s.client {
		return nil // a server's informational holds those it sent
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.informationalLocked()
}

// Trailers returns the received trailers; complete once Read returned io.EOF.
func (st *Stream) Trailers() Header {
	if st.trailersSet.Load() {
		return st.trailers // set once, before the flag: no lock needed
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.trailers
}

// Done is closed when the stream is closed, normally or not.
func (st *Stream) Done() <-chan struct{} {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.done == nil {
		// Made on demand: most streams (every RPC) never ask.
		if st.state == stateClosed {
			st.done = closedChan
		} else {
			st.done = make(chan struct{})
		}
	}
	return st.done
}

// closedChan is the Done channel of a stream first asked after it closed.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Err is why the stream ended abnormally, or nil.
func (st *Stream) Err() error {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.err
}

// InboundEnded reports whether nothing more will arrive on the stream: the
// peer ended its side (END_STREAM), or the stream was reset or failed with
// its session. A protocol where the end of the response ends the exchange
// (gRPC) stops sending then, though HTTP/2 would still carry the request body.
func (st *Stream) InboundEnded() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.recv.ended() || st.state == stateClosed
}

// ResetCode returns the code of a reset (by either side) and whether there was one.
func (st *Stream) ResetCode() (ErrCode, bool) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if se, ok := st.err.(*StreamError); ok {
		return se.Code, true
	}
	return 0, false
}

// waitLocked blocks until signalled or ctx ends; it reports ctx's error.
func (st *Stream) waitLocked(ctx context.Context) error {
	if ctx == nil || ctx.Done() == nil {
		st.cond.Wait()
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		st.s.mu.Lock()
		st.signalLocked()
		st.s.mu.Unlock()
	})
	st.cond.Wait()
	stop()
	return ctx.Err()
}

// Read reads the inbound body. It returns io.EOF at END_STREAM (trailers are
// then available) and the stream's error after a reset.
func (st *Stream) Read(p []byte) (int, error) { return st.read(p, nil, false) }

// read is Read (need nil: return whatever arrives first) and ReadFramed
// (return once need says the unit is complete, or p is full). inPlace is
// ReadFramedInPlace's permission to fill p without the lock.
func (st *Stream) read(p []byte, need func(got []byte) int, inPlace bool) (int, error) {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	got := 0
	for {
		// A unit may run on from st.in into the buffers queued behind it.
		for st.inOff < len(st.in) && (need == nil || !unitDone(p, got, need)) {
			n := copyFramed(p, got, st.in[st.inOff:], need)
			st.inOff += n
			if st.inOff == len(st.in) {
				st.nextInLocked(true)
			}
			st.creditLocked(int64(n))
			got += n
			if need == nil {
				return got, nil
			}
		}
		if need != nil && unitDone(p, got, need) {
			if got > 0 && st.recv.ended() && st.inOff == len(st.in) {
				return got, io.EOF // the body ends with this unit: no read just for the end
			}
			return got, nil
		}
		switch {
		case st.discardIn && st.err != nil:
			return got, st.err // reset with bytes unread: they are gone, the body is not whole
		case st.recv.ended():
			return got, io.EOF
		case st.err != nil:
			return got, st.err
		case st.deadlinePassedLocked() || st.sidePassedLocked(sideRead):
			return got, os.ErrDeadlineExceeded
		case len(p) == 0:
			return 0, nil
		}
		if st.rdBuf != nil {
			// Another Read lent its buffer; this one waits its turn.
			st.cond.Wait()
			continue
		}
		// Lend p to the reader goroutine: DATA that arrives while we wait is
		// copied straight into it (and credited), one copy instead of two.
		st.rdBuf, st.rdN, st.rdNeed, st.rdInPlace = p, got, need, inPlace
		st.cond.Wait()
		got = st.rdN
		st.rdBuf, st.rdN, st.rdNeed, st.rdInPlace = nil, 0, nil, false
		if need == nil && got > 0 {
			return got, nil
		}
	}
}

// creditLocked returns consumed bytes to the peer in batches: a WINDOW_UPDATE
// once a quarter of the window has been read, never one per DATA frame.
func (st *Stream) creditLocked(n int64) {
	s := st.s
	s.creditConnLocked(n)
	if st.recv.ended() || st.err != nil {
		return
	}
	st.recvFlow.consumed(n)
	if incr := st.recvFlow.creditAt(int64(s.local.InitialWindowSize) / 4); incr > 0 {
		s.queueLocked(frameReq{kind: reqWindowUpdate, streamID: st.id, u32: uint32(incr)})
	}
}

// creditConnLocked returns n consumed bytes to the connection window, in
// batches of a quarter of the window.
func (s *Session) creditConnLocked(n int64) {
	s.recvFlow.consumed(n)
	if s.recvFlow.creditDue(s.recvTarget) {
		s.sendConnWindowUpdateLocked()
	}
}

func (s *Session) sendConnWindowUpdateLocked() {
	if incr := s.recvFlow.creditUpTo(s.recvTarget); incr > 0 {
		s.queueLocked(frameReq{kind: reqWindowUpdate, u32: uint32(incr)})
	}
}

// Reset closes the stream at once with RST_STREAM(code), like Node's
// stream.close(code). What was received and not read is dropped, its bytes
// given back to the connection window, and reads return the reset: an owner
// that resets a stream reads no more of it, and a whole response left unread
// (the peer's END_STREAM in, so nothing else drops it) would otherwise keep
// its bytes out of the connection window for the session's life. On a stream
// already closed (both sides ended) nothing is sent.
func (st *Stream) Reset(code ErrCode) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	err := &StreamError{StreamID: st.id, Code: code}
	if st.state != stateClosed {
		st.resetLocked(err) // closes it: err set, waiting reads woken
	} else if st.err == nil && st.hasUnreadLocked() {
		st.err = err // reads of the closed stream report the reset
	}
	if st.hasUnreadLocked() {
		st.discardInLocked()
	}
}

// hasUnreadLocked reports whether received bytes wait for a Read.
func (st *Stream) hasUnreadLocked() bool {
	return st.inOff < len(st.in) || len(st.queuedInLocked()) > 0
}

// discardInLocked is for a stream nobody will read again: it gives back
// the received bytes still unread, with their flow-control credit (to the
// connection window always, since the peer's END_STREAM does not free what
// its body still holds of it, and to the stream's while the peer may still
// send on it), and drops inbound DATA from now on (onData). Reads, if any
// come, report the stream's error rather than a body's clean end.
func (st *Stream) discardInLocked() {
	st.discardIn = true
	if unread := st.dropInLocked(); unread > 0 {
		st.creditLocked(unread)
	}
}

// resetLocked ends the stream with err and tells the peer with RST_STREAM
// when the peer knows the stream (always for its own streams, for ours once
// their HEADERS were queued: the writer drops both if the HEADERS never left).
func (st *Stream) resetLocked(err *StreamError) {
	if st.state == stateClosed {
		return
	}
	s := st.s
	if !st.rstSent {
		st.rstSent = true
		s.queueLocked(frameReq{kind: reqRST, streamID: st.id, code: err.Code, st: st})
		s.recentRST.add(st.id)
	}
	st.failLocked(err)
}

// failLocked ends the stream abnormally without telling the peer.
func (st *Stream) failLocked(err error) {
	if st.state == stateClosed {
		return
	}
	if st.err == nil {
		st.err = err
	}
	s := st.s
	if !st.recv.ended() || !st.local() {
		// Nobody will read what is buffered: return it to the connection
		// window. A peer's stream that ended its body too: it was reset or
		// lost, so its handler gets the error (and one still queued is never
		// served). Only the response to our own request stays readable once
		// it ended: the server may reset a stream whose response it completed
		// (RFC 9113 §8.1), and the response must not be discarded.
		st.discardInLocked()
	}
	s.buffered -= len(st.out) - st.outOff
	putStreamBuf(st.out)
	st.out, st.outOff, st.zc = nil, 0, nil
	st.dropOwnedLocked()
	st.endCtx()
	st.closeLocked()
}

// endSentLocked records that our END_STREAM left.
func (st *Stream) endSentLocked() {
	st.wire.end()
	st.queued.end()
	s := st.s
	s.sched.update(s, st)
	switch st.state {
	case stateOpen:
		st.state = stateHalfClosedLocal
	case stateHalfClosedRemote:
		st.closeAtLocked(s.writerNowLocked())
		return
	}
	if st.rstAfterEnd && !st.recv.ended() {
		st.rstSent = true
		s.queueLocked(frameReq{kind: reqRST, streamID: st.id, code: ErrCodeNo, st: st})
		s.recentRST.add(st.id)
		st.failLocked(&StreamError{StreamID: st.id, Code: ErrCodeNo})
	}
}

// recvEndLocked records the peer's END_STREAM.
func (st *Stream) recvEndLocked() {
	st.recv.endIn()
	switch st.state {
	case stateOpen:
		st.state = stateHalfClosedRemote
	case stateHalfClosedLocal:
		st.closeAtLocked(st.s.lastActivity.Load()) // the batch that brought END_STREAM
	}
	st.signalLocked()
}

// closeLocked moves the stream to closed and releases its slot.
func (st *Stream) closeLocked() { st.closeAtLocked(0) }

// closeAtLocked is closeLocked for a caller that has read the clock already:
// at, in unix nanoseconds (closedAt).
func (st *Stream) closeAtLocked(at int64) {
	if st.state == stateClosed {
		return
	}
	s := st.s
	st.state = stateClosed
	st.stats.closed = st.closedAt(at)
	s.stats.streamDurations += time.Duration(st.stats.closed - st.stats.opened)
	s.stats.streamsClosed++
	s.streamPerfLocked(st)
	delete(s.streams, st.id)
	if st.local() {
		s.localActive--
	} else {
		s.peerActive--
		s.recentClosed.add(st.id)
	}
	s.sched.update(s, st)
	if st.watch != nil {
		st.watch.end()
	}
	if st.done != nil {
		close(st.done)
	}
	st.signalLocked()
	s.streamWaiters.Broadcast()
	s.streamEndedLocked(st)
	s.maybeEndDrainLocked()
}

// SetPriority changes the stream's priority for our write scheduler. Unless
// silent, the peer is told too: with PRIORITY (RFC 7540 fields) and, when
// urgency or incremental changed, PRIORITY_UPDATE (RFC 9218, clients only).
func (st *Stream) SetPriority(p Priority, silent bool) error {
	p = p.normalized()
	if p.Parent == st.id {
		return errorf("stream %d cannot depend on itself", st.id)
	}
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old := st.sched.prio.unpack()
	s.sched.setPriority(st, p)
	if silent || st.state == stateClosed || !st.queued.hasHeaders() {
		return nil
	}
	if old.Weight != p.Weight || old.Parent != p.Parent || old.Exclusive != p.Exclusive {
		pp := p.param()
		s.queueLocked(frameReq{kind: reqPriority, streamID: st.id, prio: &pp})
	}
	if s.client && (old.Urgency != p.Urgency || old.Incremental != p.Incremental) {
		s.queueLocked(frameReq{kind: reqPriorityUpdate, streamID: st.id, data: []byte(p.String())})
	}
	return nil
}

// Priority returns the stream's current priority.
func (st *Stream) Priority() Priority {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.sched.prio.unpack()
}

// Stats returns the stream's counters and timings.
func (st *Stream) Stats() StreamStats {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.stats.public()
}

var _ io.ReadWriter = (*Stream)(nil)
