package rpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// WithHTTP1 makes gRPC-Web and Connect calls (WithGRPCWeb, WithConnect) use
// HTTP/1.1 on the client's own connections instead of HTTP/2: the target's
// addresses as its resolver gives them, WithContextDialer or TCP (through
// the proxy WithProxy or the environment names), TLS with ALPN "http/1.1"
// under WithTLS. A small pool of keep-alive connections per address carries
// one call at a time each; a whole request leaves in one write, a streamed
// one chunked (client streams and half-duplex bidi streams send everything
// before the response is read, as HTTP/1.1 requires). A call that ends
// early (deadline, cancellation, an error) closes its connection.
//
// It cannot be combined with WithHTTPClient, which brings its own
// connections, nor with the gRPC protocol, which needs HTTP/2's trailers.
func WithHTTP1() DialOption { return func(o *clientConfig) { o.http1 = true } }

// errHTTP1Options refuses WithHTTP1 where it cannot apply.
var errHTTP1Options = errors.New("rpc: WithHTTP1 needs WithConnect or WithGRPCWeb, and no WithHTTPClient")

// checkHTTP1 is NewClient's check of WithHTTP1.
func (c *clientConfig) checkHTTP1() error {
	if c.http1 && (c.protocol == ProtocolGRPC || c.httpClient != nil) {
		return errHTTP1Options
	}
	return nil
}

const (
	// maxIdleHTTP1PerAddr bounds the idle connections kept per address:
	// enough for a busy client's concurrency, a bound on what a burst
	// leaves open.
	maxIdleHTTP1PerAddr = 256
	// http1StaleAfter is how long a connection may sit idle before its next
	// use checks that the server has not closed it (a peek at the socket:
	// connections in steady use skip the syscall).
	http1StaleAfter = 100 * time.Millisecond
)

// http1Client is the HTTPClient of a ClientConn made WithHTTP1.
type http1Client struct {
	cc *ClientConn

	mu      sync.Mutex
	started bool
	addrs   []resolver.Address // the resolver's latest
	addrErr error              // its latest error while no address is known
	changed chan struct{}      // closed and replaced when addrs or addrErr change
	next    int                // round robin over addrs
	idle    map[string][]*http1ClientConn
	busy    map[*http1ClientConn]struct{} // carrying a call: closed by close, so that the call ends
	res     resolver.Resolver
	closed  bool
}

func newHTTP1Client(cc *ClientConn) *http1Client {
	h := &http1Client{cc: cc, changed: make(chan struct{}), idle: make(map[string][]*http1ClientConn),
		busy: make(map[*http1ClientConn]struct{})}
	context.AfterFunc(cc.ctx, h.close)
	return h
}

// close ends the resolver and every connection when the ClientConn
// closes: the calls in flight fail with CANCELED (errClosing), as on the
// gRPC path.
func (h *http1Client) close() {
	h.mu.Lock()
	h.closed = true
	idle, busy := h.idle, h.busy
	h.idle, h.busy = nil, nil
	r := h.res
	h.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			_ = c.nc.Close()
		}
	}
	for c := range busy {
		_ = c.nc.Close()
	}
	if r != nil {
		r.Close()
	}
}

// UpdateState and ReportError make the client the resolver's ClientConn.
// A state's service config replaces WithDefaultServiceConfig's, as it does
// for HTTP/2 calls (ccResolver); an invalid one is refused, and the
// previous one stays.
func (h *http1Client) UpdateState(s resolver.State) error {
	if s.ServiceConfig != "" && !h.cc.cfg.disableServiceConfig {
		sc, err := parseServiceConfig(s.ServiceConfig)
		if err != nil {
			return err
		}
		h.cc.sc.Store(sc)
	}
	h.mu.Lock()
	h.addrs, h.addrErr = s.Addresses, nil
	h.signalLocked()
	h.mu.Unlock()
	h.cc.markConfigured()
	return nil
}

func (h *http1Client) ReportError(err error) {
	h.mu.Lock()
	h.addrErr = err
	h.signalLocked()
	h.mu.Unlock()
	h.cc.markConfigured() // no config to wait for: the calls fail at pickAddr
}

func (h *http1Client) signalLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// resolverCC hides the client's other methods from the resolver.
type resolverCC struct{ h *http1Client }

func (r resolverCC) UpdateState(s resolver.State) error { return r.h.UpdateState(s) }
func (r resolverCC) ReportError(err error)              { r.h.ReportError(err) }

// startResolver builds the resolver, once (the first call's awaitConfig).
func (h *http1Client) startResolver() {
	h.mu.Lock()
	if h.started || h.closed {
		h.mu.Unlock()
		return
	}
	h.started = true
	h.mu.Unlock()
	r, err := h.cc.rb.Build(h.cc.parsed, resolverCC{h}, resolver.BuildOptions{Dialer: h.cc.cfg.dialer})
	if err != nil {
		h.ReportError(fmt.Errorf("rpc: resolving %q: %w", h.cc.target, err))
		return
	}
	h.mu.Lock()
	closed := h.closed
	if !closed {
		h.res = r
	}
	h.mu.Unlock()
	if closed {
		r.Close()
	}
}

// pickAddr returns the next address round-robin, starting the resolver at
// the first call and waiting for its first answer.
func (h *http1Client) pickAddr(ctx context.Context) (resolver.Address, error) {
	h.startResolver()
	h.mu.Lock()
	for {
		if h.closed {
			h.mu.Unlock()
			return resolver.Address{}, errClosing
		}
		if n := len(h.addrs); n > 0 {
			a := h.addrs[h.next%n]
			h.next++
			h.mu.Unlock()
			return a, nil
		}
		if h.addrErr != nil {
			err := h.addrErr
			h.mu.Unlock()
			return resolver.Address{}, status.Errorf(codes.Unavailable, "rpc: %v", err)
		}
		wait := h.changed
		h.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return resolver.Address{}, ctx.Err()
		}
		h.mu.Lock()
	}
}

// get returns an idle connection to addr, or dials one; reused says which.
// The connection counts as busy until put or drop.
func (h *http1Client) get(ctx context.Context, addr resolver.Address) (c *http1ClientConn, reused bool, err error) {
	h.mu.Lock()
	for {
		conns := h.idle[addr.Addr]
		if len(conns) == 0 {
			break
		}
		c = conns[len(conns)-1]
		conns[len(conns)-1] = nil
		h.idle[addr.Addr] = conns[:len(conns)-1]
		if time.Since(c.lastUsed) < http1StaleAfter {
			h.busy[c] = struct{}{}
			h.mu.Unlock()
			return c, true, nil
		}
		h.mu.Unlock()
		if !c.stale() {
			return c, true, h.markBusy(c)
		}
		_ = c.nc.Close()
		h.mu.Lock()
	}
	h.mu.Unlock()
	if c, err = h.dial(ctx, addr); err != nil {
		return nil, false, err
	}
	return c, false, h.markBusy(c)
}

// markBusy records c as carrying a call, unless the client closed.
func (h *http1Client) markBusy(c *http1ClientConn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		_ = c.nc.Close()
		return errClosing
	}
	h.busy[c] = struct{}{}
	return nil
}

// put returns a connection whose exchange ended cleanly to the pool.
func (h *http1Client) put(c *http1ClientConn) {
	c.lastUsed = time.Now()
	h.mu.Lock()
	delete(h.busy, c)
	if h.closed || len(h.idle[c.addr]) >= maxIdleHTTP1PerAddr {
		h.mu.Unlock()
		_ = c.nc.Close()
		return
	}
	h.idle[c.addr] = append(h.idle[c.addr], c)
	h.mu.Unlock()
}

// drop closes a connection whose exchange did not end cleanly. err is why;
// the result is what the call says: CANCELED once the client closed.
func (h *http1Client) drop(c *http1ClientConn, err error) error {
	_ = c.nc.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.busy, c)
	if h.closed && err != nil {
		return errClosing
	}
	return err
}

// http1ClientConn is one HTTP/1.1 connection of the pool.
type http1ClientConn struct {
	nc       net.Conn
	br       *bufio.Reader
	addr     string
	out      []byte // the request being written; reused
	head     http1Head
	lastUsed time.Time
	aw       *socketAwaiter // nil when nc is no plain socket
}

// peer is the connection as WithPeer reports it.
func (c *http1ClientConn) peer() Peer {
	p := Peer{Addr: c.nc.RemoteAddr(), LocalAddr: c.nc.LocalAddr()}
	if tc, ok := c.nc.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		p.TLS = &cs
	}
	return p
}

// stale reports whether an idle connection was closed by the server (its
// idle timeout), or sent something unasked.
func (c *http1ClientConn) stale() bool {
	return c.br.Buffered() > 0 || closedByPeer(c.nc)
}

// dial connects to addr as the ClientConn's HTTP/2 connections would, but
// with ALPN "http/1.1" under TLS.
func (h *http1Client) dial(ctx context.Context, addr resolver.Address) (*http1ClientConn, error) {
	nc, err := h.cc.dialAddr(ctx, addr, "http/1.1", true)
	if err != nil {
		return nil, err
	}
	return &http1ClientConn{nc: nc, br: bufio.NewReaderSize(nc, maxHTTP1Line), addr: addr.Addr, aw: newSocketAwaiter(nc)}, nil
}
