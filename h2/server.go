package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Handler serves one stream. It runs in its own goroutine; when it returns,
// a stream it responded to is ended (END_STREAM, trailers if set) and one it
// never responded to is reset with INTERNAL_ERROR. A panic resets the stream
// and is reported through Server.ErrorLog; the session lives on.
type Handler interface {
	ServeStream(st *Stream)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(st *Stream)

// ServeStream calls f(st).
func (f HandlerFunc) ServeStream(st *Stream) { f(st) }

// Server accepts HTTP/2 sessions (like Node's http2.createServer and
// createSecureServer): h2c with prior knowledge on plain listeners, and TLS
// with ALPN "h2" when TLSConfig is set.
type Server struct {
	Handler Handler
	// HTTP, when set, serves every stream instead of Handler, through the
	// net/http bridge (see HTTPHandler).
	HTTP http.Handler
	// Options are read when the first session begins and not after (the
	// sessions share one copy of them); UpdateSettings changes the settings
	// of running and later sessions.
	Options   Options
	TLSConfig *tls.Config
	// OnSession, when set, is called for each new session before it serves.
	OnSession func(*Session)
	// ErrorLog receives handler panics and accept errors; nil discards them.
	ErrorLog func(format string, args ...any)
	// AllowHTTP1 (Node's allowHTTP1, off by default) also serves HTTP/1.x
	// clients on the same listener, with HTTP through net/http's HTTP/1
	// server: over TLS when ALPN chose "http/1.1" or nothing ("h2" and
	// "http/1.1" are advertised), over cleartext when the first bytes are
	// an HTTP/1 request line instead of the HTTP/2 preface. It needs HTTP
	// set. A cleartext "Upgrade: h2c" request is served as HTTP/1.1, not
	// upgraded (see http1.go).
	AllowHTTP1 bool
	// ServeHTTP1, when set, takes over every HTTP/1.x connection that
	// AllowHTTP1 would give to net/http (and needs neither AllowHTTP1 nor
	// HTTP): over TLS one whose ALPN chose "http/1.1" or nothing ("http/1.1"
	// is then advertised beside "h2"), over cleartext one whose first bytes
	// are an HTTP/1 request line, which its Read replays. It runs on the
	// connection's own goroutine and owns the connection: it closes it when
	// done. Shutdown and Close do not see such connections; the hook's owner
	// stops them.
	ServeHTTP1 func(net.Conn)
	// OnUnknownProtocol (Node's 'unknownProtocol') receives a connection
	// that speaks neither HTTP/2 nor, with AllowHTTP1, HTTP/1.x: over TLS,
	// one whose ALPN chose something else; over cleartext, one whose first
	// bytes are not the HTTP/2 preface (they are replayed by its Read).
	// Unless the hook closes it, the server does UnknownProtocolTimeout
	// (default 10s) after the call. Without a hook, a TLS connection is
	// closed at once (close_notify), and a cleartext one gets GOAWAY
	// (PROTOCOL_ERROR) and is closed, as RFC 9113 §3.4 says for an invalid
	// preface; neither way is it logged. A cleartext client also has
	// UnknownProtocolTimeout to send its first bytes.
	OnUnknownProtocol      func(net.Conn)
	UnknownProtocolTimeout time.Duration

	httpOnce   sync.Once
	httpBridge Handler
	http1      *http.Server  // made at the first HTTP/1 client (http1.go)
	http1Conns *connListener // what http1 accepts from

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*Session]struct{}
	shutdown  bool
	updated   Settings // what UpdateSettings changed, for new sessions (settings_server.go)
	shared    *Options // the options new sessions share (settings_server.go)
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("h2: server closed")

func (srv *Server) logf(format string, args ...any) {
	if srv.ErrorLog != nil {
		srv.ErrorLog(format, args...)
	}
}

// ListenAndServe listens on addr and serves h2c (or TLS when TLSConfig is set).
func (srv *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// ListenAndServeTLS listens on addr and serves TLS with the given key pair.
func (srv *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	cfg := srv.tlsConfig()
	cfg.Certificates = append(cfg.Certificates, cert)
	srv.TLSConfig = cfg
	return srv.ListenAndServe(addr)
}

// tlsConfig returns a copy of TLSConfig that offers "h2" and requires TLS 1.2
// or later (RFC 9113 §9.2).
func (srv *Server) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if srv.TLSConfig != nil {
		cfg = srv.TLSConfig.Clone()
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2"}
		if srv.allowsHTTP1() {
			cfg.NextProtos = append(cfg.NextProtos, "http/1.1")
		}
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// Serve accepts connections on l until Shutdown or Close. With TLSConfig set,
// connections are wrapped in TLS. Like net/http's, it closes l when it
// returns, also when the server was closed before Serve began: clients are
// refused instead of waiting in the listener's backlog forever.
func (srv *Server) Serve(l net.Listener) error {
	defer l.Close()
	if srv.TLSConfig != nil {
		l = tlsListener{Listener: l, cfg: srv.tlsConfig()}
	}
	srv.mu.Lock()
	if srv.shutdown {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	if srv.listeners == nil {
		srv.listeners = make(map[net.Listener]struct{})
	}
	srv.listeners[l] = struct{}{}
	srv.mu.Unlock()
	defer func() {
		srv.mu.Lock()
		delete(srv.listeners, l)
		srv.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			srv.mu.Lock()
			down := srv.shutdown
			srv.mu.Unlock()
			if down {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				srv.logf("h2: accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		go srv.ServeConn(c)
	}
}

// ServeConn serves one connection until its session ends. A *tls.Conn is
// handshaken first and must have negotiated "h2".
func (srv *Server) ServeConn(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			srv.logf("h2: TLS handshake from %v: %v", c.RemoteAddr(), err)
			_ = c.Close()
			return
		}
		_ = tc.SetDeadline(time.Time{})
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			srv.serveByALPN(tc, p)
			return
		}
	}
	s := newSessionShared(c, false, srv.sessionOptions())
	if !s.encrypted {
		kind, err := s.sniffPreface(srv.firstBytesTimeout(s))
		// Without a hook, other bytes go to the session as they are: it
		// answers them as RFC 9113 §3.4 says, GOAWAY then close, which also
		// tells a TLS client on this cleartext port what it reached.
		if kind != firstH2 && (err != nil || kind == firstHTTP1 && srv.allowsHTTP1() || srv.OnUnknownProtocol != nil) {
			replay := &replayConn{Conn: c, pending: s.br.buffered()}
			s.br.release()
			switch {
			case err != nil:
				_ = c.Close() // gone, or silent for too long
			case kind == firstHTTP1 && srv.allowsHTTP1():
				srv.serveHTTP1(replay)
			default:
				srv.unknownProtocol(replay)
			}
			return
		}
	}
	s.srv = srv
	s.handler = srv.Handler
	if srv.HTTP != nil {
		s.handler = srv.httpHandler()
	}
	if s.handler == nil {
		s.handler = HandlerFunc(notFound)
	}
	srv.mu.Lock()
	if srv.shutdown {
		srv.mu.Unlock()
		_ = c.Close()
		return
	}
	if srv.sessions == nil {
		srv.sessions = make(map[*Session]struct{})
	}
	srv.sessions[s] = struct{}{}
	srv.mu.Unlock()
	if srv.OnSession != nil {
		srv.OnSession(s)
	}
	s.launch()
	s.readLoop() // returns once the session has ended (finish)
}

func (srv *Server) forget(s *Session) {
	srv.mu.Lock()
	delete(srv.sessions, s)
	srv.mu.Unlock()
}

func notFound(st *Stream) {
	_ = st.Respond(Header{{Name: ":status", Value: "404"}}, &RespondOptions{EndStream: true})
}

// Shutdown stops accepting, closes every session gracefully (two-phase GOAWAY,
// streams in flight finish) and returns when all have ended, or aborts the
// rest when ctx ends.
func (srv *Server) Shutdown(ctx context.Context) error {
	sessions := srv.stopAccepting()
	var wg sync.WaitGroup
	if hs := srv.httpOne(); hs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = hs.Shutdown(ctx) // HTTP/1 connections of AllowHTTP1
		}()
	}
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Close()
		}()
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
		return nil
	case <-ctx.Done():
		for _, s := range sessions {
			// A ConnError: its reason goes out as the GOAWAY's debug data,
			// so that clients can tell why their calls were cut.
			s.Abort(ErrCodeNo, &ConnError{Code: ErrCodeNo, Reason: "server shutdown deadline reached", cause: ctx.Err()})
		}
		<-all
		return ctx.Err()
	}
}

// Close stops accepting and aborts every session at once (and closes the
// HTTP/1 connections of AllowHTTP1).
func (srv *Server) Close() error {
	for _, s := range srv.stopAccepting() {
		s.Abort(ErrCodeNo, &ConnError{Code: ErrCodeNo, Reason: "server closed", cause: ErrServerClosed})
	}
	if hs := srv.httpOne(); hs != nil {
		_ = hs.Close()
	}
	return nil
}

func (srv *Server) stopAccepting() []*Session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.shutdown = true
	for l := range srv.listeners {
		_ = l.Close()
	}
	out := make([]*Session, 0, len(srv.sessions))
	for s := range srv.sessions {
		out = append(out, s)
	}
	return out
}

// handlerDoneLocked ends what the handler left open: END_STREAM after a
// response, INTERNAL_ERROR without one; and drops what a client still sends.
// runHandlers calls it in the same hold of mu that picks the next stream.
func (st *Stream) handlerDoneLocked() {
	s := st.s
	st.endCtx()
	st.resetUnansweredPushesLocked()
	// The handler reads no more. What it left unread goes back to the
	// connection window now, also when the client's END_STREAM came while it
	// ran (a whole body that arrived then, unread, would otherwise keep its
	// bytes out of the window for the session's life), and the rest of the
	// body, if the client goes on sending, is dropped as it comes, credited
	// at once, until the client ends its side.
	st.discardInLocked()
	if st.state == stateClosed {
		return
	}
	if !st.queued.hasHeaders() {
		st.resetLocked(&StreamError{StreamID: st.id, Code: ErrCodeInternal, Reason: "handler returned without responding"})
		return
	}
	if !st.queued.ended() {
		st.queued.end()
		s.sched.update(s, st)
	}
}

// RespondOptions modify Respond.
type RespondOptions struct {
	// EndStream sends the headers with END_STREAM: a response without a body
	// (or a gRPC trailers-only response).
	EndStream bool
	// Body and Trailers, when either is set, complete the response in the
	// same step: the headers, Body, then Trailers (or END_STREAM on Body's
	// last DATA frame). A small response costs one lock round trip instead
	// of three (Respond, Write, WriteTrailers). EndStream is implied.
	Body     []byte
	Trailers Header
	// OwnedBody, when set instead of Body, is the body handed over as
	// Stream.EndOwned hands it: Respond returns once the response is
	// queued, not once a large body is written, and Release(OwnedBody) is
	// called exactly once, when h2 is done with the buffer or refuses it.
	OwnedBody *[]byte
	Release   func(*[]byte)
}

// body is the response body the options carry, lent or owned.
func (o *RespondOptions) body() outBody {
	if o.OwnedBody != nil {
		return outBody{p: *o.OwnedBody, owned: o.OwnedBody, release: o.Release}
	}
	return outBody{p: o.Body}
}

// Respond sends the response headers of a server stream (":status" first;
// it is added as "200" when missing), like Node's stream.respond.
func (st *Stream) Respond(hdr Header, opts *RespondOptions) error {
	var o RespondOptions
	if opts != nil {
		o = *opts
	}
	complete := o.Body != nil || o.OwnedBody != nil || o.Trailers != nil
	if bp := o.OwnedBody; bp != nil && len(*bp) < zeroCopyMin {
		// Copied as a Body is, and given back after the session's lock is
		// released (deferred before the unlock, so run after it).
		o.Body, o.OwnedBody = *bp, nil
		defer o.Release(bp)
	}
	body := o.body()
	if o.Trailers != nil {
		// Checked before anything is queued, so that a refusal sends nothing.
		if err := st.s.checkSendable(o.Trailers, kindTrailers); err != nil {
			body.drop()
			return err
		}
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if err := st.respondLocked(hdr, o.EndStream && !complete); err != nil || !complete {
		body.drop()
		return err
	}
	_, err := st.endLocked(body, o.Trailers)
	return err
}

func (st *Stream) respondLocked(hdr Header, end bool) error {
	if st.s.client {
		return errorf("Respond on a client stream")
	}
	if st.queued.hasHeaders() {
		return errorf("stream %d: response headers already sent", st.id)
	}
	if err := st.writableLocked(); err != nil {
		return err
	}
	if len(hdr) == 0 || hdr[0].Name != ":status" {
		hdr = append(Header{{Name: ":status", Value: "200"}}, hdr...)
	}
	if err := st.s.checkSendable(hdr, kindResponse); err != nil {
		return err
	}
	st.queued.headers()
	st.outHeader = hdr
	if end {
		st.queued.end()
	}
	st.s.queueLocked(frameReq{kind: reqHeaders, streamID: st.id, st: st, hdr: hdr, endStream: end})
	return nil
}

// SendInformational sends a 1xx response before the final one, like Node's
// stream.additionalHeaders.
func (st *Stream) SendInformational(hdr Header) error {
	if s := hdr.Get(":status"); len(s) != 3 || s[0] != '1' || s == "101" {
		return errorf("informational status must be 1xx (not 101), got %q", s)
	}
	if err := st.s.checkSendable(hdr, kindResponse); err != nil {
		return err
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if st.queued.hasHeaders() {
		return errorf("stream %d: informational headers after the response", st.id)
	}
	if err := st.writableLocked(); err != nil {
		return err
	}
	r := st.rarePart()
	r.informational = append(r.informational, hdr)
	st.s.queueLocked(frameReq{kind: reqHeaders, streamID: st.id, st: st, hdr: hdr})
	return nil
}
