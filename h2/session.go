package h2

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
)

// ClientPreface is the connection preface a client sends first (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Session is one HTTP/2 connection, client or server. All its methods are safe
// for concurrent use.
type Session struct {
	conn      net.Conn
	client    bool
	encrypted bool
	opts      *Options // normalized, read only: a server's sessions share theirs
	handler   Handler  // server only
	authority string   // client: default :authority
	srv       *Server  // server only, may be nil
	// httpInfo is what the net/http bridge computes once per connection
	// (http_request.go): the remote address string, the TLS state.
	httpInfo atomic.Pointer[httpConnInfo]

	// Reader-owned: only the reader goroutine touches these.
	br       *connReader // small while idle, large while bytes flow (read_buf.go)
	hdec     *hpack.Decoder
	hmemoIn  *blockMemo  // blocks that need no decoding again (hpack_memo_decode.go)
	hb       headerBlock // the header block being received
	hbRaw    []byte      // a block in several fragments, gathered for hdecUse
	hdecUse  tableUse    // what our decoder's dynamic table holds (hpack_table.go)
	gotFirst bool        // the peer's first SETTINGS arrived
	wakeQ    []*Stream   // streams to signal when the read batch ends (read_wake.go)
	startQ   []handoff   // new streams to hand to handlers likewise
	// infoCall and infoHeader hold a client's OnInformational callback until
	// the reader has released mu.
	infoCall   func(Header)
	infoHeader Header

	// Writer-owned: only the writer goroutine touches these, some under mu
	// and some not (it encodes header blocks outside mu, writer.go).
	henc          *hpack.Encoder
	memo          *blockMemo // header blocks that need no encoding again (hpack_memo.go)
	hbuf          hpackBuf
	hencUse       tableUse   // what our encoder's dynamic table holds (hpack_table.go)
	encMaxFrame   uint32     // the peer's MAX_FRAME_SIZE as of this batch
	batch         []frameReq // control frames taken from ctrl, being encoded
	wbuf          []byte
	wbufBox       *[]byte // wbuf's pool entry while it is borrowed (write_buf.go)
	writeDeadline time.Time
	deadlineAged  atomic.Bool // a quarter of WriteTimeout has passed since writeDeadline was set (write_deadline.go)
	deadlineTimer *time.Timer // sets deadlineAged
	writeAt       int64       // the writer's clock read for the write being filled, 0 before one (clock.go)
	gather        bool        // the connection takes one writev of many slices (vectored.go)
	ext           []extSeg    // lent slices framed into wbuf, in wire order
	extLen        int         // their bytes
	lentFrames    int         // DATA frames sent from lent slices, uncopied (for tests)
	inPlaceFrames int         // DATA frames read straight into a caller's buffer (read_inplace.go; for tests)
	adoptedFrames int         // large DATA frames whose buffer a stream kept as its own (read.go; for tests)
	iov           net.Buffers // the pieces of the next write
	iovOut        net.Buffers // the same, being written (writer goroutine only, outside mu)

	mu   sync.Mutex
	wake chan struct{} // cap 1: "the writer has work"
	ctrl []frameReq    // control frames waiting for the writer
	// hencLimit is a new HPACK table size limit from the peer's SETTINGS, for
	// the writer to apply to its encoder before its next batch.
	hencLimit    uint32
	hencLimitSet bool
	// peerCtrl counts queued frames the peer provoked (acks, resets), bounded by Limits.
	peerCtrl int
	sched    scheduler

	streams        map[uint32]*Stream
	nextStreamID   uint32 // next id for a locally initiated stream
	lastPeerStream uint32 // highest peer-initiated stream id seen
	peerActive     int    // open peer-initiated streams
	localActive    int    // open locally initiated streams
	streamWaiters  *sync.Cond
	idlePrio       map[uint32]PriorityParam // PRIORITY received for idle streams (bounded)

	local        Settings   // what we advertised most recently
	pendingLocal []Settings // sent, not yet acknowledged
	settingsWait []chan struct{}
	remote       Settings
	remoteSeen   bool      // the peer's first SETTINGS arrived
	push         pushState // push.go

	sendFlow   flow  // the connection's send window (flow.go)
	recvFlow   flow  // the connection's receive window: what the peer may still send
	recvTarget int64 // the connection window we aim to keep open
	buffered   int   // bytes queued for sending across streams (MaxSessionMemory)
	memWaiters []*Stream
	// recentRST holds streams we reset lately: frames the peer sent before
	// it saw our RST_STREAM are ignored, not treated as errors (§5.1).
	recentRST idRing
	// recentClosed holds peer streams that were opened and closed lately, to
	// tell "closed" (STREAM_CLOSED) from "never opened" (PROTOCOL_ERROR).
	recentClosed idRing

	pings        map[[8]byte]*pingWait
	pingSeq      uint64
	lastActivity atomic.Int64  // unix nanoseconds of the last read batch, for keepalive
	peerReads    atomic.Uint64 // frames that show the peer reads us (acks, WINDOW_UPDATE), for the stall watch
	stall        stallWatch    // is the peer still reading what we write? (stall.go)
	maxFrameIn   atomic.Uint32 // the largest frame the peer may send us
	maxListIn    atomic.Uint32 // our MAX_HEADER_LIST_SIZE, for the reader

	// The flags sit together, after the ids, so that alignment pads them once.
	goAwaySentID uint32
	goAwayRecvID uint32
	goAwaySent   bool
	goAwayRecv   bool
	draining     bool // Close was called: end when no streams remain
	closing      bool // the writer's last flush is pending or done
	readerLocked bool // the reader holds mu (read_wake.go)
	spinning     bool // a handler goroutine is on its way to the queued streams (handler_run.go)
	closeErr     error
	writerExited chan struct{}
	done         chan struct{}
	spare        *Stream // server: the reader's next stream, allocated outside mu (reader-owned)
	// noNewStreams is goingAwayLocked's answer, readable without mu: a
	// client picking a session for each call asks it every time.
	noNewStreams atomic.Bool
	// Handler goroutines (handler_run.go): how many serve a stream or are
	// promised one, and the streams none has taken yet (handlerQueue from
	// queueHead); spinning, with the flags above, says one is on its way to
	// them. starting counts the streams handed to them not yet begun, the
	// last queueCounted of handlerQueue among them; wakeHeld is a writer
	// wake-up held until they have (handler_start.go).
	wakeHeld     atomic.Bool
	handlersBusy int32
	queueHead    int32
	starting     atomic.Int32
	queueCounted int32
	handlerQueue []*Stream
	// idle holds the inboxes (capacity 1) of the handler goroutines waiting
	// for a stream, less those already promised one; finish sends them an
	// empty handoff.
	idle          []chan handoff
	resetBucket   tokenBucket
	emptyBucket   tokenBucket
	idleClose     *idleClose // Options.IdleTimeout (idle_close.go), nil without one
	settingsTimer *time.Timer

	stats sessionCounters
	rare  atomic.Pointer[sessionRare] // session_rare.go: nil until used
	perf  *perfEntries                // perf.go: nil without a performance hook

	// goAwayRecvErr is the last GOAWAY received, named in the error of a
	// connection lost after it (conn_lost.go).
	goAwayRecvErr *ConnError
}

func newSession(conn net.Conn, client bool, opts Options) *Session {
	o := opts.normalized()
	return newSessionShared(conn, client, &o)
}

// newSessionShared makes a session with normalized options it only reads,
// which other sessions may share (a server's, settings_server.go).
func newSessionShared(conn net.Conn, client bool, opts *Options) *Session {
	s := &Session{
		conn:         conn,
		client:       client,
		opts:         opts,
		wake:         make(chan struct{}, 1),
		streams:      make(map[uint32]*Stream),
		writerExited: make(chan struct{}),
		done:         make(chan struct{}),
		recentRST:    newIDRing(64),
		recentClosed: newIDRing(128),
		pings:        make(map[[8]byte]*pingWait),
		remote:       RFCSettings(),
		sendFlow:     flow{win: 65535},
		recvFlow:     flow{win: 65535},
	}
	if _, ok := conn.(*tls.Conn); ok {
		s.encrypted = true
	}
	s.streamWaiters = sync.NewCond(&s.mu)
	if client {
		s.nextStreamID = 1
		// Until the server's SETTINGS arrive, assume the 100 streams RFC 9113
		// §6.5.2 recommends as a minimum, not "unlimited": opening more would
		// only get them refused.
		s.remote.MaxConcurrentStreams = s.opts.PeerMaxConcurrentStreams
	} else {
		s.nextStreamID = 2
	}
	l := s.opts.Limits
	s.resetBucket = newTokenBucket(l.ResetRate, l.ResetBurst)
	s.emptyBucket = newTokenBucket(l.EmptyFrameRate, l.EmptyFrameBurst)
	s.local = s.opts.Settings
	s.lastActivity.Store(time.Now().UnixNano())
	s.maxFrameIn.Store(s.local.MaxFrameSize)
	s.maxListIn.Store(min(s.local.MaxHeaderListSize, 1<<24))
	s.br = newConnReader(conn)
	s.gather = canGather(conn)
	s.hdec = hpack.NewDecoder(s.local.HeaderTableSize, func(f hpack.HeaderField) {
		s.onHeaderField(f.Name, f.Value, f.Sensitive)
	})
	s.hdec.SetMaxStringLength(int(min(s.local.MaxHeaderListSize, 1<<24)))
	s.henc = hpack.NewEncoder(&s.hbuf)
	s.hencUse.max = 4096 // the encoder's initial table size, RFC 7541's default
	s.hdecUse.max = s.local.HeaderTableSize
	if s.opts.MaxEncoderTableSize != 0 {
		// Applied by the writer before its first block, as a peer's limit is.
		s.hencLimit, s.hencLimitSet = s.remote.HeaderTableSize, true
	}
	s.stats.StartTime = time.Now()
	return s
}

// start sends the preface (client) and our SETTINGS, then runs the reader and
// writer on goroutines of their own.
func (s *Session) start() {
	s.launch()
	go s.readLoop()
}

// launch is start without the reader, for a caller that runs readLoop on its
// own goroutine (a server's ServeConn: a goroutine that only waited for the
// session's end was 4 KB of stack and a descriptor per idle connection).
func (s *Session) launch() {
	s.mu.Lock()
	if s.client {
		s.wbuf = append(s.wbuf, ClientPreface...)
	}
	s.queueSettingsLocked(s.local)
	if err := s.queueStartOriginsLocked(); err != nil && s.srv != nil {
		s.srv.logf("h2: Options.Origins not sent: %v", err)
	}
	if extra := int64(s.opts.ConnWindowSize) - 65535; extra > 0 {
		s.recvFlow.add(extra)
		s.queueLocked(frameReq{kind: reqWindowUpdate, u32: uint32(extra)})
	}
	s.recvTarget = int64(s.opts.ConnWindowSize)
	s.startIdleCloseLocked()
	s.mu.Unlock()
	s.startPerf()
	go s.writeLoop()
	s.startTimeout()
	if s.opts.KeepaliveInterval > 0 {
		go s.keepalive()
	}
}

// IsClient reports whether this is the client end.
func (s *Session) IsClient() bool { return s.client }

// Encrypted reports whether the session runs over TLS.
func (s *Session) Encrypted() bool { return s.encrypted }

// Protocol is "h2" over TLS and "h2c" over cleartext.
func (s *Session) Protocol() string {
	if s.encrypted {
		return "h2"
	}
	return "h2c"
}

// LocalAddr and RemoteAddr are the connection's addresses.
func (s *Session) LocalAddr() net.Addr  { return s.conn.LocalAddr() }
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// Conn returns the underlying connection, for TLS state and the like.
func (s *Session) Conn() net.Conn { return s.conn }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session ended: nil while it runs or after a clean close.
func (s *Session) Err() error {
	select {
	case <-s.done:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeErr
}

// CanRequest reports whether new streams may be opened: false once either side
// sent GOAWAY or the session is closing.
func (s *Session) CanRequest() bool { return !s.noNewStreams.Load() }

// goingAwayLocked reports whether the session takes no new streams.
func (s *Session) goingAwayLocked() bool {
	return s.closing || s.draining || s.goAwayRecv || s.goAwaySent
}

// LocalSettings are the settings we advertised most recently.
func (s *Session) LocalSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local
}

// RemoteSettings are the peer's settings as last received.
func (s *Session) RemoteSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}

// PendingSettingsAck reports whether some of our SETTINGS await the peer's ack.
func (s *Session) PendingSettingsAck() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pendingLocal) > 0
}

// UpdateSettings sends new local settings and waits for the peer's ack (or
// ctx). The parameters set gives replace the current ones, the others stay:
// a zero or false value is given with Settings.With (see Settings).
func (s *Session) UpdateSettings(ctx context.Context, set Settings) error {
	s.mu.Lock()
	next := s.local.merged(set)
	if s.local.EnableConnectProtocol && !next.EnableConnectProtocol {
		s.mu.Unlock()
		return errConnectProtocolOff
	}
	if err := next.Validate(); err != nil {
		s.mu.Unlock()
		return err
	}
	if s.closing {
		s.mu.Unlock()
		return ErrSessionClosed
	}
	ch := make(chan struct{})
	s.queueSettingsLocked(next)
	s.settingsWait[len(s.settingsWait)-1] = ch
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-s.done:
		return ErrSessionClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// queueSettingsLocked sends a full SETTINGS frame and arms the ack timeout.
func (s *Session) queueSettingsLocked(next Settings) {
	if next.InitialWindowSize > s.local.InitialWindowSize {
		// Raise our stream receive windows now; a decrease waits for the ack.
		s.adjustRecvWindowsLocked(int64(next.InitialWindowSize) - int64(s.local.InitialWindowSize))
	}
	s.local = next
	s.pendingLocal = append(s.pendingLocal, next)
	s.maxFrameIn.Store(max(s.maxFrameIn.Load(), next.MaxFrameSize))
	s.maxListIn.Store(min(next.MaxHeaderListSize, 1<<24))
	s.settingsWait = append(s.settingsWait, nil)
	s.queueLocked(frameReq{kind: reqSettings, settings: next})
	if s.opts.SettingsTimeout > 0 && s.settingsTimer == nil {
		s.settingsTimer = time.AfterFunc(s.opts.SettingsTimeout, func() {
			s.mu.Lock()
			pending := len(s.pendingLocal) > 0
			s.mu.Unlock()
			if pending {
				s.closeWith(&ConnError{Code: ErrCodeSettingsTimeout, Reason: ErrSettingsTimeout.Error(), cause: ErrSettingsTimeout}, ErrCodeSettingsTimeout)
			}
		})
	}
}

// SetLocalWindowSize sets the connection receive window to n bytes, sending
// the WINDOW_UPDATE that grows it (like Node's session.setLocalWindowSize).
// Shrinking takes effect as the peer consumes the current window.
func (s *Session) SetLocalWindowSize(n uint32) error {
	if n > maxWindow {
		return connErr(ErrCodeFlowControl, "window %d above 2^31-1", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrSessionClosed
	}
	s.recvTarget = int64(n)
	if grow := s.recvFlow.growTo(int64(n)); grow > 0 {
		s.queueLocked(frameReq{kind: reqWindowUpdate, u32: uint32(grow)})
	}
	return nil
}

// GoAway sends GOAWAY with the given code and debug data: the peer must open no
// new streams. Streams up to the last one we processed continue. It does not
// close the session; Close does that gracefully.
func (s *Session) GoAway(code ErrCode, debug []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrSessionClosed
	}
	s.sendGoAwayLocked(code, s.lastPeerStream, debug)
	return nil
}

// GoAwayLastStream is GoAway with the last-stream-id chosen (Node's
// session.goaway(code, lastStreamID, data)): the peer takes the streams it
// opened above it as never processed. It may not exceed one sent before
// (§6.8).
func (s *Session) GoAwayLastStream(code ErrCode, lastStreamID uint32, debug []byte) error {
	if lastStreamID > streamIDMask {
		return errorf("last stream id %d above 2^31-1", lastStreamID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrSessionClosed
	}
	if s.goAwaySent && lastStreamID > s.goAwaySentID {
		return errorf("last stream id %d above the %d of an earlier GOAWAY", lastStreamID, s.goAwaySentID)
	}
	s.sendGoAwayLocked(code, lastStreamID, debug)
	return nil
}

func (s *Session) sendGoAwayLocked(code ErrCode, last uint32, debug []byte) {
	s.goAwaySent = true
	s.noNewStreams.Store(true)
	s.goAwaySentID = last
	s.queueLocked(frameReq{kind: reqGoAway, u32: last, code: code, data: append([]byte(nil), debug...)})
}

// Close closes the session gracefully: a server first announces GOAWAY with
// the maximal stream id and, after a ping round trip, the real last stream id
// (so requests in flight are not lost); then no new streams are accepted,
// existing streams finish, and the connection closes. Close returns when it has.
func (s *Session) Close() error {
	s.mu.Lock()
	if !s.closing && !s.draining {
		s.draining = true
		s.noNewStreams.Store(true)
		if !s.goAwaySent {
			if s.client {
				s.sendGoAwayLocked(ErrCodeNo, 0, nil)
			} else {
				s.sendGoAwayLocked(ErrCodeNo, streamIDMask, nil)
				go s.finishGracefulGoAway()
			}
		}
		s.maybeEndDrainLocked()
	}
	s.mu.Unlock()
	<-s.done
	return nil
}

// finishGracefulGoAway sends the second, exact GOAWAY after one ping round trip,
// by which time every stream the client sent before seeing the first GOAWAY has arrived.
func (s *Session) finishGracefulGoAway() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = s.Ping(ctx, [8]byte{'g', 'o', 'a', 'w', 'a', 'y'})
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing {
		s.sendGoAwayLocked(ErrCodeNo, s.lastPeerStream, nil)
		s.maybeEndDrainLocked()
	}
}

// maybeEndDrainLocked ends a draining session once it has no streams left.
func (s *Session) maybeEndDrainLocked() {
	if !s.closing && (s.draining || s.goAwayRecv) && len(s.streams) == 0 && s.handlersBusy == 0 &&
		(s.client || !s.draining || s.goAwaySentID != streamIDMask) {
		s.beginCloseLocked(nil, 0, false)
	}
}

// Abort closes the session at once: GOAWAY with code, all streams fail with err.
func (s *Session) Abort(code ErrCode, err error) {
	if err == nil {
		err = &ConnError{Code: code, Reason: "session aborted"}
	}
	s.closeWith(err, code)
	<-s.done
}

// AbortAsync begins what Abort does and returns at once instead of waiting
// for the session to end: hooks run on the reader goroutine, which Abort
// would wait for. Calling it again, or once the session is closing, does
// nothing; Done reports the end.
func (s *Session) AbortAsync(code ErrCode, err error) {
	if err == nil {
		err = &ConnError{Code: code, Reason: "session aborted"}
	}
	s.closeWith(err, code)
}

// closeWith begins an immediate close that sends GOAWAY(code) first.
func (s *Session) closeWith(err error, code ErrCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beginCloseLocked(err, code, true)
}

// beginCloseLocked stops everything new, queues a final GOAWAY if asked, and
// tells the writer to flush and shut the connection's write side.
func (s *Session) beginCloseLocked(err error, code ErrCode, goAway bool) {
	if s.closing {
		return
	}
	s.closing = true
	s.noNewStreams.Store(true)
	if err != nil || s.closeErr == nil {
		s.closeErr = err // keep a cause recorded earlier, such as a GOAWAY's error code
	}
	if goAway {
		var debug []byte
		if ce, ok := err.(*ConnError); ok && !ce.Remote {
			debug = []byte(ce.Reason)
		}
		s.sendGoAwayLocked(code, s.lastPeerStream, debug)
	}
	for _, st := range s.streams {
		st.failLocked(s.streamCloseErrLocked(st))
	}
	s.streamWaiters.Broadcast()
	for _, p := range s.pings {
		p.err = ErrSessionClosed
		close(p.done)
	}
	clear(s.pings)
	if s.opts.WriteTimeout > 0 {
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	}
	s.signalWriter()
}

func (s *Session) streamCloseErrLocked(st *Stream) error {
	if s.closeErr != nil {
		if st.local() && !st.wire.hasHeaders() {
			return &unprocessedError{streamID: st.id, cause: s.closeErr}
		}
		return s.closeErr
	}
	return ErrSessionClosed
}

// finish runs once, after both goroutines are done: it releases everything.
func (s *Session) finish(readErr error) {
	s.mu.Lock()
	if !s.closing {
		s.beginCloseLocked(readErr, 0, false)
	}
	err := s.closeErr
	s.stopIdleCloseLocked()
	if s.settingsTimer != nil {
		s.settingsTimer.Stop()
	}
	if s.stall.timer != nil {
		s.stall.timer.Stop()
	}
	s.stopTimeout()
	for _, st := range s.handlerQueue[s.queueHead:] {
		st.failLocked(ErrSessionClosed)
	}
	s.handlerQueue, s.queueHead = nil, 0
	for _, in := range s.idle {
		in <- handoff{} // the session is over: the idle handler goroutines end
	}
	s.idle = nil
	s.mu.Unlock()
	_ = s.conn.Close()
	close(s.done)
	if s.srv != nil {
		s.srv.forget(s)
	}
	if h := s.opts.Hooks.OnClose; h != nil {
		h(s, err)
	}
}

// wakeMemWaitersLocked wakes writers that waited for session memory.
func (s *Session) wakeMemWaitersLocked() {
	if len(s.memWaiters) == 0 || s.buffered >= s.opts.Limits.MaxSessionMemory {
		return
	}
	for i, st := range s.memWaiters {
		st.memBlocked = false
		st.signalLocked()
		s.memWaiters[i] = nil
	}
	s.memWaiters = s.memWaiters[:0]
}
