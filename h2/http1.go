package h2

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// One port for HTTP/2 and HTTP/1.x (Node's allowHTTP1), and what happens to a
// client that speaks neither (Node's 'unknownProtocol').
//
// Over TLS, ALPN decides: "h2" is ours; "http/1.1" or no ALPN at all goes to
// the ServeHTTP1 hook when set, else to net/http's HTTP/1 server with the
// same http.Handler when AllowHTTP1 is set.
// Over cleartext, the first bytes decide: the HTTP/2 connection preface is
// ours, an HTTP/1 request line goes to net/http. The bytes read to decide are
// left in the session's own read buffer (HTTP/2) or replayed to net/http, so
// telling them apart costs no extra read when the preface arrives whole.
//
// "Upgrade: h2c" on a cleartext HTTP/1.1 request (RFC 7540 §3.2) is not
// honoured: the request is served as HTTP/1.1, which the RFC allows (the
// server "can ignore" the upgrade). Clients that want HTTP/2 in cleartext use
// prior knowledge, which is served on the same port.

// http1HeaderTimeout bounds how long an HTTP/1 client may take to send a
// request's headers.
const http1HeaderTimeout = 10 * time.Second

// defaultUnknownProtocolTimeout is Node's unknownProtocolTimeout default.
const defaultUnknownProtocolTimeout = 10 * time.Second

func (srv *Server) unknownProtocolTimeout() time.Duration {
	if srv.UnknownProtocolTimeout > 0 {
		return srv.UnknownProtocolTimeout
	}
	return defaultUnknownProtocolTimeout
}

// firstBytesTimeout is how long a cleartext client has to show what it
// speaks: the unknown-protocol timeout, or the SETTINGS timeout when shorter
// (a client that never sends the preface could never ack our SETTINGS).
func (srv *Server) firstBytesTimeout(s *Session) time.Duration {
	d := srv.unknownProtocolTimeout()
	if st := s.opts.SettingsTimeout; st > 0 && st < d {
		d = st
	}
	return d
}

// allowsHTTP1 reports whether HTTP/1.x clients are served: by the
// ServeHTTP1 hook, or with an http.Handler through net/http.
func (srv *Server) allowsHTTP1() bool {
	return srv.ServeHTTP1 != nil || srv.AllowHTTP1 && srv.HTTP != nil
}

// serveByALPN routes a handshaken TLS connection that did not choose "h2".
func (srv *Server) serveByALPN(tc *tls.Conn, proto string) {
	if (proto == "http/1.1" || proto == "") && srv.allowsHTTP1() {
		srv.serveHTTP1(tc)
		return
	}
	srv.unknownProtocol(tc)
}

// firstBytes is what a cleartext client's first bytes say it speaks.
type firstBytes uint8

const (
	firstH2 firstBytes = iota
	firstHTTP1
	firstUnknown
)

// sniffPreface reads from the connection into the session's buffer until the
// bytes there are the whole client preface, or stop matching it; in the
// latter case it reads on until an HTTP/1 request line's method can be told
// apart from anything else. A client has the unknown-protocol timeout to send
// them; a read error (also that timeout) is returned.
func (s *Session) sniffPreface(timeout time.Duration) (firstBytes, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = s.conn.SetReadDeadline(time.Time{}) }()
	b := s.br
	for {
		got := b.buf[b.r:b.w]
		n := min(len(got), len(ClientPreface))
		if string(got[:n]) != ClientPreface[:n] {
			if kind, ok := requestLineKind(got); ok {
				return kind, nil
			}
		} else if n == len(ClientPreface) {
			return firstH2, nil
		}
		if err := b.fill(len(got) + 1); err != nil {
			return firstUnknown, err
		}
	}
}

// maxMethodLen bounds the method token of a request line we recognise, and
// maxRequestLine how much of the line is read to find its end: a longer line
// with a plausible method goes to net/http, which answers it 414.
const (
	maxMethodLen   = 20
	maxRequestLine = 4 << 10
)

// requestLineKind tells from a connection's first bytes whether they begin an
// HTTP/1 request line: a method token of capital letters (or '-'), a space,
// and, at the end of the line, " HTTP/1.0" or " HTTP/1.1". ok is false while
// too few bytes have arrived to say.
func requestLineKind(got []byte) (kind firstBytes, ok bool) {
	method := 0
	for method < len(got) && got[method] != ' ' {
		if c := got[method]; !(c >= 'A' && c <= 'Z' || c == '-') || method == maxMethodLen {
			return firstUnknown, true
		}
		method++
	}
	if method == len(got) {
		return firstUnknown, false
	}
	if method == 0 {
		return firstUnknown, true
	}
	end := bytes.IndexByte(got, '\n')
	if end < 0 {
		if len(got) >= maxRequestLine {
			return firstHTTP1, true
		}
		return firstUnknown, false
	}
	line := bytes.TrimSuffix(got[:end], []byte("\r"))
	if bytes.HasSuffix(line, []byte(" HTTP/1.1")) || bytes.HasSuffix(line, []byte(" HTTP/1.0")) {
		return firstHTTP1, true
	}
	return firstUnknown, true
}

// buffered returns a copy of the bytes read and not consumed.
func (b *connReader) buffered() []byte {
	return append([]byte(nil), b.buf[b.r:b.w]...)
}

// replayConn is a connection whose first reads return bytes already read
// from it.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// errReplayPending: the connection's descriptor cannot be read yet, its
// first bytes are still to be replayed.
var errReplayPending = errors.New("h2: the connection's first bytes are not read yet")

// SyscallConn is the connection's descriptor (syscall.Conn), once the
// replayed bytes are read: a read through it before would skip them. An
// HTTP/1 server that waits on the descriptor for its next request (rpc's)
// needs it.
func (c *replayConn) SyscallConn() (syscall.RawConn, error) {
	if len(c.pending) > 0 {
		return nil, errReplayPending
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// CloseWrite shuts the connection's write side when it has one (TCP, TLS),
// so that an HTTP/1 server can end its output and still drain the input.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// unknownProtocol hands a connection that speaks neither protocol to
// OnUnknownProtocol, closing it after UnknownProtocolTimeout if the hook
// did not (Node's unknownProtocolTimeout); without a hook it is closed at
// once (a cleartext one never comes here without a hook: ServeConn lets the
// session answer it). Nothing is logged: such clients are not the server's
// failure.
func (srv *Server) unknownProtocol(c net.Conn) {
	if srv.OnUnknownProtocol == nil {
		_ = c.Close()
		return
	}
	time.AfterFunc(srv.unknownProtocolTimeout(), func() { _ = c.Close() })
	srv.OnUnknownProtocol(c)
}

// serveHTTP1 gives the connection to the ServeHTTP1 hook, or else to
// net/http's HTTP/1 server, made (and started on an in-process listener) at
// the first HTTP/1 client.
func (srv *Server) serveHTTP1(c net.Conn) {
	if srv.ServeHTTP1 != nil {
		srv.ServeHTTP1(c)
		return
	}
	srv.mu.Lock()
	if srv.shutdown {
		srv.mu.Unlock()
		_ = c.Close()
		return
	}
	if srv.http1 == nil {
		var p http.Protocols
		p.SetHTTP1(true)
		srv.http1 = &http.Server{
			Handler:   srv.HTTP,
			Protocols: &p,
			ErrorLog:  log.New(logWriter{srv}, "", 0),
			// A client that dribbles its request headers is cut off, as the
			// HTTP/2 side bounds what a peer can hold; idle keep-alive
			// connections end like idle sessions.
			ReadHeaderTimeout: http1HeaderTimeout,
			IdleTimeout:       srv.Options.IdleTimeout,
		}
		srv.http1Conns = &connListener{conns: make(chan net.Conn), closed: make(chan struct{}), addr: c.LocalAddr()}
		go func(hs *http.Server, l net.Listener) { _ = hs.Serve(l) }(srv.http1, srv.http1Conns)
	}
	l := srv.http1Conns
	srv.mu.Unlock()
	if !l.hand(c) {
		_ = c.Close()
	}
}

// logWriter sends net/http's log lines to Server.ErrorLog.
type logWriter struct{ srv *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.srv.logf("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// connListener is a net.Listener whose connections come from serveHTTP1:
// net/http's server accepts from it as from a socket.
type connListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	addr      net.Addr
}

// hand passes c to the accepting server; false once the listener is closed.
func (l *connListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// httpOne returns the HTTP/1 server if one was started, for Shutdown and
// Close to stop with the HTTP/2 sessions.
func (srv *Server) httpOne() *http.Server {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.http1
}
