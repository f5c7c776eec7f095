package rpc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Serve's own HTTP/1.1: h2.Server hands over the connections that are not
// HTTP/2 (cleartext ones by their request line, TLS ones by ALPN "http/1.1"
// or none; h2.Server.ServeHTTP1), and each is served here on the goroutine
// that accepted it, one request after another, each call run inline through
// the same serverTransport interface as HTTP/2 streams and net/http (no
// goroutine per request, no net/http in between). Requests are read by
// server_http1_parse.go and http1_body.go, responses written by
// server_http1_transport.go.
//
// Semantics mirror ServeHTTP over net/http's HTTP/1.1 (server_http.go): a
// whole response carries Content-Length, a stream is chunked, gRPC is
// refused with 505, CORS and the 405/415 refusals are the same. An HTTP/1.0
// client gets no chunked coding: a streamed response ends with the
// connection.

const (
	// defaultHTTP1IdleTimeout is how long a keep-alive connection may wait
	// for its next request when MaxConnectionIdle does not say.
	defaultHTTP1IdleTimeout = 2 * time.Minute
	// http1HeaderTimeout bounds the time from a request's first byte to the
	// end of its head: a client that dribbles its headers is cut off.
	http1HeaderTimeout = 10 * time.Second
)

// HTTP1Parameters bound how long Serve's own HTTP/1.1 waits on a client
// (ServeHTTP under net/http follows http.Server's timeouts instead). A zero
// field keeps its default. How long a keep-alive connection may wait for
// its next request is KeepaliveParams' MaxConnectionIdle (default 2 min).
type HTTP1Parameters struct {
	// ReadHeaderTimeout bounds the time from a request's first byte to the
	// end of its header fields, as net/http's ReadHeaderTimeout (default
	// 10 s): a client that dribbles its header is cut off.
	ReadHeaderTimeout time.Duration
	// BodyReadTimeout bounds each wait for request body bytes while the
	// call reads its body (default: the idle timeout). A client that sends
	// nothing for that long mid-body is cut off: the read fails with
	// DEADLINE_EXCEEDED and the connection closes after the call's
	// response. It starts again at every read, so a body that keeps coming,
	// however slowly and for however long (a client stream), is never cut
	// off, unlike under net/http's ReadTimeout, which bounds the whole
	// request; and a handler that takes its time between reads is not
	// charged for it.
	BodyReadTimeout time.Duration
	// WriteTimeout bounds each write of a response to the connection, of
	// at most 256 KiB (default 30 s, as h2.Options.WriteTimeout for HTTP/2;
	// negative disables): a client that stops reading cannot hold a call
	// forever (its call's context is canceled and the connection closed),
	// while one that reads slowly but steadily gets its whole response.
	// Over plain TCP on Linux a write that outlasts the timeout goes on
	// while the client keeps taking bytes, some in every WriteTimeout and
	// on average at least MinWriteRate since the write began to wait for
	// it; elsewhere (TLS, other systems) the timeout ends the write.
	WriteTimeout time.Duration
	// MinWriteRate is the average pace, in bytes per second, below which a
	// write that outlasted WriteTimeout is cut off (default 1 KiB/s;
	// negative: no floor, a client that takes a byte in every
	// WriteTimeout keeps its connection). It is what stops a client that
	// reads a byte every few seconds from holding a connection and its
	// call for ever.
	MinWriteRate int
}

// defaultHTTP1WriteTimeout is HTTP1Parameters.WriteTimeout's default, the
// same as h2's for HTTP/2 connections.
const defaultHTTP1WriteTimeout = 30 * time.Second

// HTTP1Params sets the timeouts of Serve's own HTTP/1.1.
func HTTP1Params(p HTTP1Parameters) ServerOption {
	return func(o *serverOptions) { o.http1 = p }
}

// http1Conns is the server's set of HTTP/1.x connections, for Shutdown
// (close the idle ones, let the busy ones finish their response) and Stop
// (close all).
type http1Conns struct {
	idleTimeout   time.Duration
	headerTimeout time.Duration
	bodyTimeout   time.Duration // each wait for request body bytes
	writeTimeout  time.Duration // each write; 0: none
	minWriteRate  int64         // bytes per second (http1_write_rate.go); 0: no floor

	mu      sync.Mutex
	conns   map[*http1ServerConn]struct{}
	closing bool
	// closingNow is closing, read without the lock by a response header
	// deciding whether to say Connection: close.
	closingNow atomic.Bool
	drained    chan struct{} // closed when the last connection goes after closing began
}

func (h *http1Conns) init(idle time.Duration, p HTTP1Parameters) {
	h.idleTimeout = idle
	if h.idleTimeout <= 0 {
		h.idleTimeout = defaultHTTP1IdleTimeout
	}
	h.headerTimeout = p.ReadHeaderTimeout
	if h.headerTimeout <= 0 {
		h.headerTimeout = http1HeaderTimeout
	}
	h.bodyTimeout = p.BodyReadTimeout
	if h.bodyTimeout <= 0 {
		h.bodyTimeout = h.idleTimeout
	}
	h.writeTimeout = p.WriteTimeout
	switch {
	case h.writeTimeout == 0:
		h.writeTimeout = defaultHTTP1WriteTimeout
	case h.writeTimeout < 0:
		h.writeTimeout = 0
	}
	h.minWriteRate = int64(p.MinWriteRate)
	switch {
	case h.minWriteRate == 0:
		h.minWriteRate = defaultHTTP1MinWriteRate
	case h.minWriteRate < 0:
		h.minWriteRate = 0
	}
}

func (h *http1Conns) add(c *http1ServerConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	if h.conns == nil {
		h.conns = make(map[*http1ServerConn]struct{})
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *http1Conns) remove(c *http1ServerConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if len(h.conns) == 0 && h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

// setBusy marks a connection busy (a request began) or idle (its response
// is out); false means the server is closing and the connection must end.
// No lock: it runs twice a request, the second time inside the wait for
// the next one (socketAwaiter.beforeWait), where shutdown's Close, made
// under h.mu, would wait for it. shutdown sets closingNow before it reads
// busy: either it sees the connection busy and waits for it to end, or the
// connection sees closingNow and ends.
func (h *http1Conns) setBusy(c *http1ServerConn, busy bool) bool {
	c.busy.Store(busy)
	return !h.closingNow.Load()
}

// shutdown closes the idle connections and waits for the busy ones to end
// after their response, until ctx ends: then it closes them too.
func (h *http1Conns) shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	h.closingNow.Store(true)
	for c := range h.conns {
		if !c.busy.Load() {
			_ = c.nc.Close()
		}
	}
	var wait chan struct{}
	if len(h.conns) > 0 {
		if h.drained == nil {
			h.drained = make(chan struct{})
		}
		wait = h.drained
	}
	h.mu.Unlock()
	if wait == nil {
		return nil
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		h.closeAll()
		return ctx.Err()
	}
}

// closeAll closes every connection and cancels the calls they run.
func (h *http1Conns) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closing = true
	h.closingNow.Store(true)
	for c := range h.conns {
		_ = c.nc.Close() // first: a call woken by the cancel must find nothing to answer on
		c.cancel()
	}
}

// http1ServerConn is one HTTP/1.x connection being served.
type http1ServerConn struct {
	srv    *Server
	nc     net.Conn
	br     *bufio.Reader
	scheme string
	ctx    context.Context // ends with the connection, or at Stop
	cancel context.CancelFunc
	cs     *connState // carries the connection's Peer for its calls
	req    http1Request
	call   *http1Call // the one whose request is being read
	body   http1Body
	out    []byte // the response being written; reused
	busy   atomic.Bool
	// aw writes a whole response and waits for the next request in one
	// pass (nil when nc is no plain socket); pending: that response waits
	// in out for idle to send it.
	aw      *socketAwaiter
	awTried bool // aw is made after the first request: h2's replayed bytes are read by then
	// tw writes the pieces of timed writes (nil when nc is no socket),
	// made by the first.
	tw      *timedWriter
	twTried bool
	pending bool
	idleOK  bool // what setBusy said in aw's beforeWait
	// idleArmed: idle set the idle deadline, nextRequest need not.
	idleArmed bool

	dateSec int64 // the second date holds, for the Date header
	date    []byte
}

// maxKeptBuffer bounds the output buffer a connection keeps between
// messages; bodies beyond bigBody are written from where they are.
const (
	maxKeptBuffer = 64 << 10
	bigBody       = 16 << 10
)

// serveHTTP1 is the h2.Server's ServeHTTP1 hook: it serves one HTTP/1.x
// connection until it ends.
func (s *Server) serveHTTP1(nc net.Conn) {
	c := &http1ServerConn{srv: s, nc: nc, br: bufio.NewReaderSize(nc, maxHTTP1Line), scheme: "http"}
	if !s.h1.add(c) {
		_ = nc.Close()
		return
	}
	defer s.h1.remove(c)
	defer nc.Close()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	p := &Peer{Addr: nc.RemoteAddr(), LocalAddr: nc.LocalAddr()}
	if tc, ok := nc.(*tls.Conn); ok {
		c.scheme = "https"
		st := tc.ConnectionState()
		p.TLS = &st
	}
	c.cs = &connState{}
	c.cs.peer.Store(p)
	c.body.br = c.br
	defer c.flushPending() // before the close: a response idle did not send
	for c.nextRequest() {
		if !c.serveRequest() || !c.idle() {
			return
		}
	}
}

// idle marks the connection idle once its last response is out. A whole
// response waits in c.out (http1Call.respond): written here, with the wait
// for the next request in the same pass through the poller, so that the
// read of that request does not fail with EAGAIN first. false: the
// connection ends (the write failed, the server is closing).
func (c *http1ServerConn) idle() bool {
	h := &c.srv.h1
	if !c.awTried {
		c.awTried = true
		if c.aw = newSocketAwaiter(c.nc); c.aw != nil {
			c.aw.beforeWait = c.markIdle
		}
	}
	if !c.pending {
		return h.setBusy(c, false)
	}
	c.pending = false
	out := c.out
	if cap(c.out) > maxKeptBuffer {
		c.out = nil // a large response's buffer is not kept by an idle connection
	}
	// The writes here are timed afresh: the deadline a timed write left on
	// the connection may have passed long ago.
	if c.br.Buffered() > 0 {
		// The next request is here already (pipelined): nothing to wait for.
		if err := c.writeTimed(out); err != nil {
			return false
		}
		return h.setBusy(c, false)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(h.idleTimeout)) // the wait is the idle time
	c.idleArmed = true                                      // for nextRequest
	n, err := c.aw.writeThenAwait(out)
	switch {
	case err != nil:
		return false
	case n == len(out):
		return c.idleOK // markIdle ran
	}
	if err := c.writeTimed(out[n:]); err != nil {
		return false
	}
	return h.setBusy(c, false)
}

// markIdle is the awaiter's beforeWait: the response is out.
func (c *http1ServerConn) markIdle() bool {
	c.idleOK = c.srv.h1.setBusy(c, false)
	return c.idleOK
}

// flushPending writes a whole response that waits for idle, when the
// connection ends instead.
func (c *http1ServerConn) flushPending() {
	if c.pending {
		c.pending = false
		_ = c.writeTimed(c.out)
	}
}

// nextRequest waits for the next request, at most the idle timeout, and
// reads its head, at most the header timeout from its first byte. false:
// the connection ends (closed, silent, refused, or the server closing).
func (c *http1ServerConn) nextRequest() bool {
	h := &c.srv.h1
	if !c.idleArmed {
		_ = c.nc.SetReadDeadline(time.Now().Add(h.idleTimeout))
	}
	c.idleArmed = false
	if _, err := c.br.Peek(1); err != nil {
		return false
	}
	if !h.setBusy(c, true) {
		return false
	}
	// Deadlines cost a clock read and a timer update each (a fifth of a
	// microsecond here): a request that came whole in one read, as most
	// do, is read without them, and keeps the idle deadline, which no read
	// of it can reach.
	whole := c.headBuffered()
	if !whole {
		_ = c.nc.SetReadDeadline(time.Now().Add(h.headerTimeout))
	}
	// The call is made now so that the request's fields land in its room:
	// they are the call's own (a handler may read its metadata after the
	// connection moved on to the next request).
	c.call = &http1Call{conn: c}
	c.req.hdr = c.call.hdrRoom[:0]
	err := readHTTP1Request(c.br, c.scheme, &c.req)
	if !whole || err != nil || !c.bodyBuffered() {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		var he *http1Error
		if errors.As(err, &he) {
			// The framing of what follows cannot be trusted: answer and
			// close.
			c.out = c.appendStatusLine(c.out[:0], he.code)
			c.out = append(c.out, "Connection: close\r\nContent-Length: 0\r\n\r\n"...)
			if err := c.writeTimed(c.out); err == nil {
				c.lingerClose()
			}
		}
		return false
	}
	return true
}

// headBuffered reports whether the reader holds a whole request head.
func (c *http1ServerConn) headBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// bodyBuffered reports whether the reader holds all of the request's body
// (c.req, whose head it just read).
func (c *http1ServerConn) bodyBuffered() bool {
	return c.req.body == bodyNone || c.req.body == bodyLength && c.req.length <= int64(c.br.Buffered())
}

// Lingering: closing a socket with unread input makes the kernel send a
// reset, which may destroy the response the client has not read yet. So a
// connection the server ends while the client may still be sending first
// shuts its write side, then reads and drops what comes for a moment.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

// lingerClose ends the output and drains the input for at most lingerTime
// (the caller closes the connection after).
func (c *http1ServerConn) lingerClose() {
	c.flushPending()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite() // the client sees the end at once
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.br, lingerBytes)
}

// serveRequest answers one request; false: the connection ends after it.
func (c *http1ServerConn) serveRequest() bool {
	s, req, call := c.srv, &c.req, c.call
	c.call = nil
	call.minor = req.minor
	c.body.reset(req.body, req.length)
	if req.expect && req.body != bodyNone {
		c.body.beforeRead = call.sendContinue
	}
	if s.opts.cors != nil && req.origin != "" {
		code, extra := s.opts.cors.http1(req)
		call.extra = extra
		if code != 0 {
			return call.bare(code)
		}
	}
	p, ce, refuse := protocolFor(req.method, req.hdr.Get("content-type"))
	if refuse == 0 && p == protoGRPC {
		// gRPC ends every response with trailers, which HTTP/1.1 clients
		// and proxies drop: refused as over net/http.
		refuse = http.StatusHTTPVersionNotSupported
	}
	if refuse != 0 {
		return call.bare(refuse)
	}
	call.ctx, call.cancel = context.WithCancel(c.ctx)
	ss := &call.ss
	*ss = serverStream{srv: s, tr: call, proto: p, codec: ce, conn: c.cs}
	ss.er = envelopeReader{r: call, maxSize: s.opts.maxRecv}
	s.serveCall(ss, req.hdr)
	call.finish()
	if !c.pending && cap(c.out) > maxKeptBuffer {
		c.out = nil // a large response's buffer is not kept by an idle connection
	}
	if !call.keepAlive() {
		if call.err == nil && !c.body.ended() {
			c.lingerClose()
		}
		return false
	}
	return true
}

// http1 is CORS.handle for a request read by Serve's HTTP/1.1: the status
// that answers a preflight (0 for a call), and the headers for the
// response.
func (c *CORS) http1(req *http1Request) (int, http.Header) {
	r := &http.Request{Method: req.method, Header: make(http.Header, 4)}
	for _, f := range req.hdr {
		switch f.Name {
		case "origin", "access-control-request-method", "access-control-request-headers":
			r.Header.Add(f.Name, f.Value)
		}
	}
	w := &headerRecorder{h: make(http.Header, 6)}
	if c.handle(w, r) {
		return w.code, w.h
	}
	return 0, w.h
}

// headerRecorder is the http.ResponseWriter CORS.handle writes to.
type headerRecorder struct {
	h    http.Header
	code int
}

func (w *headerRecorder) Header() http.Header         { return w.h }
func (w *headerRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerRecorder) WriteHeader(code int)        { w.code = code }

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// sendContinue answers "Expect: 100-continue" at the first read of the
// body, unless the response already went.
func (t *http1Call) sendContinue() {
	if t.state != respNone || t.err != nil {
		return
	}
	t.continued = true
	if err := t.conn.writeTimed(continueLine); err != nil {
		t.err = err
	}
}
