package h2

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
)

// ClientOptions configure Dial and NewClientSession.
type ClientOptions struct {
	Options
	// TLSConfig, when set, makes Dial use TLS with ALPN "h2"; nil means h2c
	// with prior knowledge.
	TLSConfig *tls.Config
	// Authority is the default ":authority" of requests (the dialed address
	// when empty).
	Authority string
	// Dialer dials the TCP connection; nil uses a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial connects to addr ("host:port") and returns a client session (like
// Node's http2.connect).
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Session, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	dial := o.Dialer
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.TLSConfig != nil {
		cfg := o.TLSConfig.Clone()
		cfg.NextProtos = []string{"h2"}
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = host
		}
		tc := TLSClient(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			_ = c.Close()
			return nil, fmt.Errorf("h2: server at %s did not negotiate h2 (ALPN %q)", addr, p)
		}
		c = tc
	}
	if o.Authority == "" {
		o.Authority = addr
	}
	return NewClientSession(c, &o)
}

// NewClientSession starts a client session over an established connection
// (TLS already handshaken, an in-memory pipe, ...). It sends the preface and
// SETTINGS and returns at once.
func NewClientSession(c net.Conn, opts *ClientOptions) (*Session, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if err := o.Settings.withDefaults().Validate(); err != nil {
		return nil, err
	}
	s := newSession(c, true, o.Options)
	s.authority = o.Authority
	if s.authority == "" && c.RemoteAddr() != nil {
		s.authority = c.RemoteAddr().String()
	}
	s.initOriginSet()
	s.start()
	return s, nil
}

// RequestOptions modify Request, like the options of Node's session.request.
type RequestOptions struct {
	// EndStream ends the request: with the headers when there is no Body,
	// else on Body's last DATA frame.
	EndStream bool
	// Body, when set, is written after the headers, in the same step (it is
	// copied, or lent until framed when large, as by Write): a whole request
	// is one call, and one hold of the session lock.
	Body []byte
	// OwnedBody, when set instead of Body, is the body handed over as
	// Stream.WriteOwned hands it: Request returns once the request is
	// queued, not once a large body is written, and Release(OwnedBody) is
	// called exactly once, when h2 is done with the buffer or, when
	// Request fails, before it returns.
	OwnedBody *[]byte
	Release   func(*[]byte)
	// Priority, when set, is sent in the HEADERS frame (RFC 7540 fields) and
	// used by our own write scheduler.
	Priority *Priority
	// OnInformational is called with each 1xx response, on the session's
	// reader goroutine (it must not block).
	OnInformational func(Header)
	// OnPush is called, on the session's reader goroutine, for each request
	// the server promises (PUSH_PROMISE) on this stream; pushed carries its
	// response (Node's 'push' event comes with pushed.Response). It needs
	// Settings.EnablePush, and takes precedence over Hooks.OnPush; what it
	// may do is what Hooks.OnPush may.
	OnPush func(promised Header, pushed *Stream)
	// ResetOnCancel resets the stream with CANCEL when ctx ends before the
	// stream closed (Node's signal option); without it ctx bounds only the
	// wait for a stream slot.
	ResetOnCancel bool
}

// Request opens a stream and sends its request headers. Missing
// pseudo-headers take Node's defaults: ":method" GET, ":path" / (except
// for CONNECT), ":scheme" and ":authority" from the session. A plain CONNECT sends only
// ":method" and ":authority"; with ":protocol" it is an extended CONNECT
// (RFC 8441), which waits for the server's SETTINGS and fails with
// ErrExtendedConnectDisabled unless they enable it. Request waits while the peer's
// MAX_CONCURRENT_STREAMS is reached, until ctx ends; a ctx that has already
// ended fails it before anything is sent. After a GOAWAY it fails with an
// error matching ErrUnprocessed, so the caller may retry elsewhere.
// hdr may be kept until the headers are sent: do not modify it afterwards.
func (s *Session) Request(ctx context.Context, hdr Header, opts *RequestOptions) (*Stream, error) {
	var o RequestOptions
	if opts != nil {
		o = *opts
	}
	st, err := s.request(ctx, hdr, &o)
	if o.OwnedBody != nil {
		// Refused, or small and copied: given back here, with the
		// session's lock released.
		o.Release(o.OwnedBody)
	}
	return st, err
}

// request is Request; requestLocked clears o.OwnedBody once the stream has
// taken the buffer, so that Request gives back only one it did not take.
func (s *Session) request(ctx context.Context, hdr Header, o *RequestOptions) (*Stream, error) {
	if !s.client {
		return nil, errorf("Request on a server session")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hdr, err := s.completeRequestHeader(hdr)
	if err != nil {
		return nil, err
	}
	spare := s.allocStream()
	s.mu.Lock()
	st, err := s.requestLocked(ctx, hdr, o, spare)
	s.mu.Unlock()
	if err == nil {
		// Woken only now: the writer would first wait for the lock we held.
		s.signalWriter()
	}
	return st, err
}

func (s *Session) requestLocked(ctx context.Context, hdr Header, o *RequestOptions, spare *Stream) (*Stream, error) {
	if hdr[0].Value == "CONNECT" && extendedConnect(hdr) {
		if err := s.waitExtendedConnectLocked(ctx); err != nil {
			return nil, err
		}
	}
	if limit := s.remote.MaxHeaderListSize; limit != Unlimited && headerListSize(hdr) > limit {
		return nil, errorf("request header list of %d bytes exceeds the peer's MAX_HEADER_LIST_SIZE %d", headerListSize(hdr), limit)
	}
	for {
		if s.goingAwayLocked() {
			cause := s.closeErr
			if cause == nil {
				cause = ErrSessionClosed
			}
			return nil, &unprocessedError{cause: cause}
		}
		if s.nextStreamID > streamIDMask {
			return nil, &unprocessedError{cause: errorf("stream identifiers exhausted")}
		}
		if uint32(s.localActive) < s.remote.MaxConcurrentStreams {
			break
		}
		if err := s.waitStreamSlotLocked(ctx); err != nil {
			return nil, err
		}
	}
	id := s.nextStreamID
	s.nextStreamID += 2
	st := s.newStreamLocked(id, spare)
	if o.OnInformational != nil {
		st.rarePart().onInfo = o.OnInformational
	}
	if o.OnPush != nil {
		st.pushPart().onPush = o.OnPush
	}
	if o.ResetOnCancel && ctx.Done() != nil {
		st.watchPart().stopCancel = context.AfterFunc(ctx, func() { st.Reset(ErrCodeCancel) })
	}
	st.headRequest = hdr[0].Value == "HEAD"
	st.queued.headers()
	st.outHeader = hdr
	body := outBody{p: o.Body}
	if bp := o.OwnedBody; bp != nil && len(*bp) >= zeroCopyMin {
		body = outBody{p: *bp, owned: bp, release: o.Release}
		o.OwnedBody = nil // the stream's now, given back by endLocked or writeOwnedLocked
	} else if bp != nil {
		body = outBody{p: *bp} // copied as a Body is; Request gives it back
	}
	headersEnd := o.EndStream && len(body.p) == 0
	req := frameReq{kind: reqHeaders, streamID: id, st: st, hdr: hdr, endStream: headersEnd}
	if o.Priority != nil {
		st.sched.prio = packPriority(*o.Priority)
		pp := st.sched.prio.unpack().param()
		req.prio = &pp
	}
	if headersEnd {
		st.queued.end()
	}
	s.enqueueLocked(req) // Request wakes the writer once it has released mu
	if len(body.p) > 0 || body.owned != nil {
		var err error
		switch {
		case o.EndStream:
			_, err = st.endLocked(body, nil)
		case body.owned != nil:
			_, err = st.writeOwnedLocked(body.owned, body.release)
		default:
			_, err = st.writeLocked(body.p)
		}
		if err != nil {
			st.resetLocked(&StreamError{StreamID: id, Code: ErrCodeCancel})
			return nil, err
		}
	}
	return st, nil
}

func (s *Session) waitStreamSlotLocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.streamWaiters.Broadcast()
		s.mu.Unlock()
	})
	s.streamWaiters.Wait()
	stop()
	return ctx.Err()
}

// canonicalRequest reports whether hdr starts with non-empty :method (not
// CONNECT), :scheme, :path and :authority, in that order, and holds no other
// pseudo-header: what completeRequestHeader would build from it.
func canonicalRequest(hdr Header) bool {
	if len(hdr) < 4 || hdr[0].Name != ":method" || hdr[1].Name != ":scheme" || hdr[2].Name != ":path" || hdr[3].Name != ":authority" ||
		hdr[0].Value == "CONNECT" {
		return false
	}
	for _, f := range hdr[:4] {
		if f.Value == "" {
			return false
		}
	}
	for _, f := range hdr[4:] {
		if strings.HasPrefix(f.Name, ":") {
			return false
		}
	}
	return true
}

// completeRequestHeader orders pseudo-headers first, fills :scheme and
// :authority, and refuses what the server would reject as malformed.
func (s *Session) completeRequestHeader(hdr Header) (Header, error) {
	if canonicalRequest(hdr) {
		// Already complete and in order, as the RPC layer builds it: no copy.
		if err := s.checkSendable(hdr, kindRequest); err != nil {
			return nil, err
		}
		return hdr, nil
	}
	out := make(Header, 0, len(hdr)+2)
	method := hdr.Get(":method")
	if method == "" {
		method = "GET" // Node's default
	}
	out = append(out, HeaderField{Name: ":method", Value: method})
	protocol := hdr.Get(":protocol")
	if method != "CONNECT" || protocol != "" {
		// A plain CONNECT names only its authority; an extended one (RFC
		// 8441) is a request like others, plus :protocol.
		scheme := hdr.Get(":scheme")
		if scheme == "" {
			scheme = "http"
			if s.encrypted {
				scheme = "https"
			}
		}
		path := hdr.Get(":path")
		if path == "" && protocol != "" {
			return nil, errorf("extended CONNECT without :path")
		}
		if path == "" {
			path = "/" // Node's default
		}
		out = append(out, HeaderField{Name: ":scheme", Value: scheme}, HeaderField{Name: ":path", Value: path})
	}
	auth := hdr.Get(":authority")
	if auth == "" {
		auth = s.authority
	}
	if auth != "" {
		out = append(out, HeaderField{Name: ":authority", Value: auth})
	}
	if protocol != "" {
		out = append(out, HeaderField{Name: ":protocol", Value: protocol})
	}
	for _, f := range hdr {
		if strings.HasPrefix(f.Name, ":") {
			switch f.Name {
			case ":method", ":scheme", ":path", ":authority", ":protocol":
				continue
			default:
				return nil, errorf("unknown request pseudo-header %s", f.Name)
			}
		}
		out = append(out, f)
	}
	if err := s.checkSendable(out, kindRequest); err != nil {
		return nil, err
	}
	return out, nil
}

// Response waits for the final response headers of a client stream.
func (st *Stream) Response(ctx context.Context) (Header, error) {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for !st.recv.hasHeaders() {
		if st.err != nil {
			return nil, st.err
		}
		if st.recv.ended() {
			return nil, errorf("stream %d ended without a response", st.id)
		}
		if st.deadlinePassedLocked() {
			return nil, fmt.Errorf("h2: stream %d: %w", st.id, errDeadline)
		}
		if err := st.waitLocked(ctx); err != nil {
			return nil, err
		}
	}
	return st.header, nil
}
