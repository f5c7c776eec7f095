package h2

import (
	"encoding/binary"
	"errors"
	"strings"
)

// Server push (RFC 9113 §8.4), like Node's stream.pushStream and the
// client's 'push' and 'stream' events.
//
// The server promises a request on a stream the client opened (Push): a
// PUSH_PROMISE carries the promised request's headers and reserves a new
// even-numbered stream, on which the server then answers as it would answer
// that request. The client opts in with SETTINGS_ENABLE_PUSH=1 and receives
// promised streams through RequestOptions.OnPush or Hooks.OnPush; without
// either, promises are refused with RST_STREAM(CANCEL).

var (
	// ErrPushDisabled is Push's error when the client's SETTINGS say
	// ENABLE_PUSH=0.
	ErrPushDisabled = errors.New("h2: the peer disabled server push")
	// ErrPushLimit is Push's error when the streams we opened (pushes) reach
	// the client's MAX_CONCURRENT_STREAMS.
	ErrPushLimit = errors.New("h2: the peer's MAX_CONCURRENT_STREAMS is reached")
)

// streamPush is a stream's part in server push.
type streamPush struct {
	// promise is the promised request of a pushed stream, on both sides.
	promise     Header
	promiseSent bool      // server: our PUSH_PROMISE left, so the peer knows the stream
	pushes      []*Stream // server: streams this one pushed, reset if never answered
	onPush      func(promised Header, pushed *Stream)
}

// pushPart returns the stream's push state, made on first use.
func (st *Stream) pushPart() *streamPush { return &st.rarePart().push }

// promised returns the promised request of a pushed stream, or nil.
func (st *Stream) promised() Header {
	if st.rare == nil {
		return nil
	}
	return st.rare.push.promise
}

// promiseSentLocked reports whether the peer heard of this pushed stream.
func (st *Stream) promiseSentLocked() bool { return st.rare != nil && st.rare.push.promiseSent }

// pushState is the push bookkeeping every session keeps.
type pushState struct {
	// ackedOff: the peer acknowledged SETTINGS of ours with ENABLE_PUSH=0.
	// Until then the RFC default (enabled) may still be in the peer's view.
	ackedOff bool
}

// pushHook is a push hook for the reader to run once it has released mu,
// kept in the session's rare state (session_rare.go).
type pushHook struct {
	call           func(promised Header, pushed *Stream)
	callSession    func(parent *Stream, promised Header, pushed *Stream)
	parent, pushed *Stream
}

// PushAllowed reports whether Push on this stream would be accepted now: a
// server stream still open for sending, whose client enabled push and has
// room under its MAX_CONCURRENT_STREAMS (like Node's stream.pushAllowed).
func (st *Stream) PushAllowed() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.pushCheckLocked() == nil
}

// Push promises the request hdr to the client on this server stream and
// returns the stream that will carry its response (Node's
// stream.pushStream). hdr needs ":path"; ":method" defaults to GET (HEAD is
// the only other method a promise may carry), ":scheme" and ":authority" to
// this stream's. The caller answers the pushed stream like a handler answers
// a request (Respond, Write, End), and must at least begin to (Respond or
// Write) before the handler of this stream returns: pushes left unanswered
// then are reset with CANCEL. Push fails with ErrPushDisabled or
// ErrPushLimit when the client does not take the push, and after this
// stream's sending side ended (the promise must precede it).
func (st *Stream) Push(hdr Header) (*Stream, error) {
	if st.s.client {
		// Before promiseHeader: it reads the stream's request without mu,
		// which only a server stream may (a client stream's header is the
		// response, which the reader sets when it arrives).
		return nil, errorf("Push on a client stream")
	}
	promised, err := st.promiseHeader(hdr)
	if err != nil {
		return nil, err
	}
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := st.pushCheckLocked(); err != nil {
		return nil, err
	}
	id := s.nextStreamID
	s.nextStreamID += 2
	p := s.newStreamLocked(id, nil)
	p.state = stateReservedLocal
	p.header = promised
	p.recv.headersIn()
	p.recv.endIn() // a promised request has no body
	p.pushPart().promise = promised
	p.headRequest = promised[0].Value == "HEAD"
	st.pushPart().pushes = append(st.pushPart().pushes, p)
	s.queueLocked(frameReq{kind: reqPushPromise, streamID: st.id, u32: id, st: p, hdr: promised})
	return p, nil
}

func (st *Stream) pushCheckLocked() error {
	s := st.s
	switch {
	case s.client:
		return errorf("Push on a client stream")
	case st.promised() != nil:
		return errorf("stream %d is pushed: a push cannot push", st.id)
	case st.err != nil:
		return st.err
	case st.queued.ended():
		return ErrStreamClosed
	case s.goingAwayLocked():
		return ErrSessionClosed
	case !s.remote.EnablePush:
		return ErrPushDisabled
	case uint32(s.localActive) >= s.remote.MaxConcurrentStreams:
		return ErrPushLimit
	case s.nextStreamID > streamIDMask:
		return errorf("stream identifiers exhausted")
	}
	return nil
}

// PushPromise returns the promised request of a pushed stream (on either
// side), or nil for a stream that was not pushed.
func (st *Stream) PushPromise() Header {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.promised()
}

// promiseHeader completes a promised request from the parent request's
// :scheme and :authority, pseudo-headers first.
func (st *Stream) promiseHeader(hdr Header) (Header, error) {
	method := hdr.Get(":method")
	if method == "" {
		method = "GET"
	}
	if method != "GET" && method != "HEAD" {
		return nil, errorf("a pushed request must be GET or HEAD (safe and cacheable), not %s", method)
	}
	path := hdr.Get(":path")
	if path == "" {
		return nil, errorf("a pushed request needs :path")
	}
	parent := st.header // a server stream's request: set before it was published, never changed
	scheme := hdr.Get(":scheme")
	if scheme == "" {
		scheme = parent.Get(":scheme")
	}
	auth := hdr.Get(":authority")
	if auth == "" {
		auth = parent.Get(":authority")
	}
	if auth == "" {
		auth = parent.Get("host")
	}
	out := make(Header, 0, len(hdr)+4)
	out = append(out, HeaderField{Name: ":method", Value: method}, HeaderField{Name: ":scheme", Value: scheme},
		HeaderField{Name: ":path", Value: path}, HeaderField{Name: ":authority", Value: auth})
	for _, f := range hdr {
		if strings.HasPrefix(f.Name, ":") {
			switch f.Name {
			case ":method", ":scheme", ":path", ":authority":
				continue
			}
			return nil, errorf("pseudo-header %s in a pushed request", f.Name)
		}
		out = append(out, f)
	}
	if err := st.s.checkSendable(out, kindRequest); err != nil {
		return nil, err
	}
	return out, nil
}

// resetUnansweredPushesLocked resets the streams st pushed that nobody
// answered: its handler returned, and nobody else will.
func (st *Stream) resetUnansweredPushesLocked() {
	if st.rare == nil {
		return
	}
	for _, p := range st.rare.push.pushes {
		if !p.queued.hasHeaders() {
			p.resetLocked(&StreamError{StreamID: p.id, Code: ErrCodeCancel, Reason: "push not answered before its parent's handler returned"})
		}
	}
	st.rare.push.pushes = nil
}

// appendPushPromise encodes a PUSH_PROMISE for stream promised on stream
// parent, with CONTINUATIONs when the block is larger than a frame.
func (s *Session) appendPushPromise(parent, promised uint32, hdr Header, maxFrame uint32) {
	block := s.encodeBlock(hdr)
	first := block[:min(len(block), int(maxFrame)-4)]
	block = block[len(first):]
	s.wbuf = appendPushPromiseFrame(s.wbuf, parent, promised, len(block) == 0, first)
	s.appendContinuations(parent, block, maxFrame)
}

// appendPushPromiseFrame appends one PUSH_PROMISE frame (§6.6).
func appendPushPromiseFrame(dst []byte, streamID, promised uint32, endHeaders bool, frag []byte) []byte {
	var f Flags
	if endHeaders {
		f = FlagEndHeaders
	}
	dst = appendFrameHeader(dst, 4+len(frag), FramePushPromise, f, streamID)
	dst = binary.BigEndian.AppendUint32(dst, promised&streamIDMask)
	return append(dst, frag...)
}

// onPushPromise begins receiving a promise: its header block is decoded
// like a HEADERS block (CONTINUATIONs included) and applied by
// onPromiseBlockLocked. A promise we never enabled (and the peer saw us
// disable), or one on a stream that cannot carry it, is a connection error.
func (s *Session) onPushPromise(fh FrameHeader, p []byte) error {
	if !s.client {
		return connErr(ErrCodeProtocol, "PUSH_PROMISE from a client")
	}
	if fh.StreamID == 0 {
		return connErr(ErrCodeProtocol, "PUSH_PROMISE on stream 0")
	}
	frag, err := stripPadding(fh, p)
	if err != nil {
		return err
	}
	if len(frag) < 4 {
		return connErr(ErrCodeFrameSize, "PUSH_PROMISE shorter than its promised stream id")
	}
	promised := binary.BigEndian.Uint32(frag) & streamIDMask
	frag = frag[4:]
	s.mu.Lock()
	err = s.checkPromiseLocked(fh.StreamID, promised)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	hb := &s.hb
	*hb = headerBlock{active: true, streamID: fh.StreamID, promised: promised, maxList: s.maxListIn.Load()}
	if len(frag) == 0 && !fh.Flags.Has(FlagEndHeaders) {
		if err := s.spendEmpty(); err != nil {
			return err
		}
	}
	return s.addFragment(frag, fh.Flags.Has(FlagEndHeaders))
}

func (s *Session) checkPromiseLocked(parent, promised uint32) error {
	if !s.local.EnablePush && s.push.ackedOff {
		return connErr(ErrCodeProtocol, "PUSH_PROMISE of stream %d on stream %d, but push is disabled", promised, parent)
	}
	if promised == 0 || promised%2 == 1 || promised <= s.lastPeerStream {
		return connErr(ErrCodeProtocol, "PUSH_PROMISE of stream %d, which is not a new server stream", promised)
	}
	st := s.streams[parent]
	if st == nil && !s.recentRST.has(parent) || st != nil && (!st.local() || st.recv.ended()) {
		// §6.6: the parent must be open or half-closed (local) for us. One we
		// reset lately is closed, but the promise may have crossed our
		// RST_STREAM: it is refused, not an error.
		return connErr(ErrCodeProtocol, "PUSH_PROMISE on stream %d, which is not a request of ours still open", parent)
	}
	s.lastPeerStream = promised // the id is used now, whatever becomes of the promise
	return nil
}

// onPromiseBlockLocked applies a complete promise: a new pushed stream,
// handed to the request's or the session's push hook once the reader lets
// go of mu; or RST_STREAM on the promised stream when nobody wants it, the
// request is malformed, or our MAX_CONCURRENT_STREAMS is reached (a server
// that ignores it is refused, push after push, never buffered).
func (s *Session) onPromiseBlockLocked(fields Header) error {
	hb := &s.hb
	id := hb.promised
	if hb.tooBig {
		return streamErr(id, ErrCodeRefusedStream, "promised request header list too large")
	}
	cl, reason := checkHeaderBlock(fields, kindRequest)
	if reason != "" {
		return streamErr(id, ErrCodeProtocol, "promised request: "+reason)
	}
	if m := fields.Get(":method"); m != "GET" && m != "HEAD" || cl > 0 {
		return streamErr(id, ErrCodeProtocol, "promised request is not safe and cacheable")
	}
	parent := s.streams[hb.streamID]
	var call func(Header, *Stream)
	var callSession func(*Stream, Header, *Stream)
	if parent != nil {
		callSession = s.opts.Hooks.OnPush
		if parent.rare != nil {
			call = parent.rare.push.onPush
		}
	}
	if !s.local.EnablePush || call == nil && callSession == nil {
		s.resetIDLocked(&StreamError{StreamID: id, Code: ErrCodeCancel})
		return nil
	}
	if uint32(s.peerActive) >= s.local.MaxConcurrentStreams {
		s.resetIDLocked(&StreamError{StreamID: id, Code: ErrCodeRefusedStream})
		return nil
	}
	st := s.newStreamLocked(id, nil)
	st.state = stateReservedRemote
	st.pushPart().promise = fields
	st.headRequest = fields.Get(":method") == "HEAD"
	st.queued.end() // we send nothing on it
	st.wire.end()
	s.rarePart().push = pushHook{call: call, callSession: callSession, parent: parent, pushed: st}
	return nil
}

// runPushHook calls the hook onPromiseBlockLocked chose, without mu, so
// that it may use the stream (Reset it, say).
func (s *Session) runPushHook() {
	r := s.rare.Load()
	if r == nil || r.push.pushed == nil {
		return
	}
	call, callSession, parent, st := r.push.call, r.push.callSession, r.push.parent, r.push.pushed
	r.push = pushHook{}
	if call != nil {
		call(st.rare.push.promise, st)
		return
	}
	callSession(parent, st.rare.push.promise, st)
}
