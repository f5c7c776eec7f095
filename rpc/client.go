package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

const libraryUserAgent = "h2rpc-go/0.1"

// ClientConn is a client's view of one or more servers. It connects lazily,
// on the first call (or Connect), keeps one HTTP/2 connection per address,
// spreads calls round-robin over the ready ones and reconnects with
// exponential backoff. It is safe for concurrent use.
type ClientConn struct {
	target    string
	authority string
	cfg       clientConfig
	http      *httpCaller // gRPC-Web and Connect calls (client_http.go); nil for gRPC
	scheme    string
	userAgent string
	dnsHost   string // set for dns:/// targets: re-resolved when all addresses fail
	dnsPort   string

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu          sync.Mutex
	subs        []*subConn
	rr          uint32
	ready       atomic.Pointer[[]*h2.Session] // sessions of ready addresses, for pick's fast path
	rrFast      atomic.Uint32
	kaTime      atomic.Int64  // keepalive interval; doubled on each too_many_pings
	changed     chan struct{} // closed and replaced on every state change
	closed      bool
	resolved    bool
	resolveErr  error
	lastResolve time.Time
}

type subState uint8

const (
	subIdle subState = iota
	subConnecting
	subReady
	subFailure
)

// subConn is the connection to one address. Its fields are guarded by the
// ClientConn's mu.
type subConn struct {
	addr    string
	state   subState
	sess    *h2.Session
	lastErr error
}

// NewClient creates a ClientConn for target without connecting. Targets:
//
//	host:port                      one server
//	host1:port,host2:port          several, round-robin
//	passthrough:///host:port       one server, the address used as is
//	dns:///host:port               every address host resolves to, round-robin
//	unix:///path/to.sock           a unix domain socket
func NewClient(target string, opts ...DialOption) (*ClientConn, error) {
	cc := &ClientConn{target: target, changed: make(chan struct{})}
	cc.cfg = clientConfig{backoff: DefaultBackoffConfig, minConnect: 20 * time.Second, maxRetries: 5}
	for _, o := range opts {
		o(&cc.cfg)
	}
	if !cc.cfg.securityChosen {
		return nil, errNoSecurity
	}
	cc.cfg.unaryInt = ChainUnaryClient(cc.cfg.unaryInts...)
	cc.cfg.streamInt = ChainStreamClient(cc.cfg.streamInts...)
	if cc.cfg.backoff.BaseDelay <= 0 {
		cc.cfg.backoff = DefaultBackoffConfig
	}
	var addrs []string
	switch {
	case strings.HasPrefix(target, "dns:///"):
		hp := strings.TrimPrefix(target, "dns:///")
		host, port, err := net.SplitHostPort(withDefaultPort(hp))
		if err != nil {
			return nil, fmt.Errorf("rpc: bad target %q: %w", target, err)
		}
		cc.dnsHost, cc.dnsPort = host, port
		cc.authority = hp
	case strings.HasPrefix(target, "passthrough:///"):
		a := strings.TrimPrefix(target, "passthrough:///")
		addrs = []string{a}
	case strings.HasPrefix(target, "unix:"):
		// unix:///abs/path or unix:rel/path; the socket path is the address.
		p := strings.TrimPrefix(strings.TrimPrefix(target, "unix:"), "//")
		if p == "" {
			return nil, fmt.Errorf("rpc: empty unix socket path in %q", target)
		}
		addrs = []string{"unix:" + p}
		cc.authority = "localhost"
	case strings.Contains(target, "://"):
		return nil, fmt.Errorf("rpc: unsupported target scheme in %q (use host:port, a comma-separated list, passthrough:///, dns:/// or unix:)", target)
	default:
		for _, a := range strings.Split(target, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
	}
	if cc.dnsHost == "" && len(addrs) == 0 {
		return nil, fmt.Errorf("rpc: empty target %q", target)
	}
	if cc.authority == "" && len(addrs) > 0 {
		cc.authority = addrs[0]
	}
	if cc.cfg.authority != "" {
		cc.authority = cc.cfg.authority
	}
	for _, a := range addrs {
		cc.subs = append(cc.subs, &subConn{addr: a})
	}
	cc.resolved = cc.dnsHost == ""
	cc.scheme = "http"
	if cc.cfg.tlsConfig != nil {
		cc.scheme = "https"
	}
	cc.userAgent = libraryUserAgent
	if cc.cfg.userAgent != "" {
		cc.userAgent = cc.cfg.userAgent + " " + libraryUserAgent
	}
	cc.kaTime.Store(int64(cc.cfg.keepalive.Time))
	cc.ctx, cc.cancel = context.WithCancel(context.Background())
	cc.initHTTP()
	return cc, nil
}

// Target returns the target the ClientConn was created with.
func (cc *ClientConn) Target() string { return cc.target }

// Connect starts connecting every address now instead of at the first call.
func (cc *ClientConn) Connect() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.kickLocked()
}

// Close closes every connection; calls in flight fail with CANCELED and
// later calls fail at once.
func (cc *ClientConn) Close() error {
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return nil
	}
	cc.closed = true
	subs := cc.subs
	cc.broadcastLocked()
	cc.mu.Unlock()
	cc.cancel()
	for _, sc := range subs {
		cc.mu.Lock()
		s := sc.sess
		cc.mu.Unlock()
		if s != nil {
			s.Abort(h2.ErrCodeNo, errors.New("rpc: client connection closed"))
		}
	}
	return nil
}

// broadcastLocked publishes a state change: it rebuilds the ready list that
// calls pick from without locking, and wakes the calls waiting in pick.
func (cc *ClientConn) broadcastLocked() {
	var ready []*h2.Session
	if !cc.closed {
		for _, sc := range cc.subs {
			if sc.state == subReady {
				ready = append(ready, sc.sess)
			}
		}
	}
	cc.ready.Store(&ready)
	close(cc.changed)
	cc.changed = make(chan struct{})
}

// resolve looks up a dns:/// target, without holding mu during the lookup.
func (cc *ClientConn) resolve(ctx context.Context) {
	ips, err := net.DefaultResolver.LookupHost(ctx, cc.dnsHost)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.lastResolve = time.Now()
	cc.resolved = true
	if err != nil {
		cc.resolveErr = err
		cc.broadcastLocked()
		return
	}
	cc.resolveErr = nil
	keep := make(map[string]*subConn, len(cc.subs))
	for _, sc := range cc.subs {
		keep[sc.addr] = sc
	}
	subs := make([]*subConn, 0, len(ips))
	for _, ip := range ips {
		a := net.JoinHostPort(ip, cc.dnsPort)
		if sc, ok := keep[a]; ok {
			subs = append(subs, sc)
			delete(keep, a)
		} else {
			subs = append(subs, &subConn{addr: a})
		}
	}
	cc.subs = subs
	for _, sc := range keep {
		if sc.sess != nil {
			_ = sc.sess.Close()
		}
	}
	cc.broadcastLocked()
}

// kickLocked starts connecting every idle address.
func (cc *ClientConn) kickLocked() {
	for _, sc := range cc.subs {
		if sc.state == subIdle {
			sc.state = subConnecting
			go cc.connectLoop(sc)
		}
	}
}

// pick returns a session ready for a new stream, waiting while connections
// are being made. Without wait-for-ready it fails with UNAVAILABLE once every
// address has failed; with it, it waits until ctx ends.
func (cc *ClientConn) pick(ctx context.Context, waitForReady bool) (*h2.Session, error) {
	// Fast path, no lock: round-robin over the published ready sessions.
	if lp := cc.ready.Load(); lp != nil && len(*lp) > 0 {
		l := *lp
		n := uint32(len(l))
		start := cc.rrFast.Add(1)
		for i := uint32(0); i < n; i++ {
			if s := l[(start+i)%n]; s.CanRequest() {
				return s, nil
			}
		}
	}
	for {
		cc.mu.Lock()
		if cc.closed {
			cc.mu.Unlock()
			return nil, status.Error(codes.Canceled, "rpc: the client connection is closing")
		}
		if !cc.resolved || (cc.dnsHost != "" && cc.allFailedLocked() && time.Since(cc.lastResolve) > time.Second) {
			cc.resolved = true // one lookup at a time
			cc.lastResolve = time.Now()
			go cc.resolve(cc.ctx)
		}
		n := uint32(len(cc.subs))
		start := cc.rr
		cc.rr++
		for i := uint32(0); i < n; i++ {
			sc := cc.subs[(start+i)%n]
			if sc.state != subReady {
				continue
			}
			if !sc.sess.CanRequest() {
				// Draining after GOAWAY: let it finish its streams, open a new one.
				sc.state, sc.sess = subIdle, nil
				cc.broadcastLocked()
				continue
			}
			s := sc.sess
			cc.mu.Unlock()
			return s, nil
		}
		cc.kickLocked()
		pending := !cc.resolved && cc.dnsHost != ""
		var lastErr error = cc.resolveErr
		for _, sc := range cc.subs {
			switch sc.state {
			case subConnecting, subIdle:
				pending = true
			}
			if sc.lastErr != nil {
				// Kept while the address is retried, so that a call that
				// waits for it to be ready can say why it never was.
				lastErr = sc.lastErr
			}
		}
		if cc.dnsHost != "" && len(cc.subs) == 0 && cc.resolveErr == nil {
			pending = true
		}
		ch := cc.changed
		cc.mu.Unlock()
		if !pending && !waitForReady {
			if lastErr == nil {
				lastErr = errors.New("no address available")
			}
			return nil, status.Errorf(codes.Unavailable, "rpc: connection failed: %v", lastErr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, waitEnded(ctx.Err(), lastErr)
		}
	}
}

// waitEnded is the error of a call whose context ended while it waited for
// a connection: CANCELED or DEADLINE_EXCEEDED, and why no connection was
// ready, when an attempt failed.
func waitEnded(ctxErr, lastErr error) error {
	s := status.FromContextError(ctxErr)
	if lastErr == nil {
		return s.Err()
	}
	return status.Errorf(s.Code(), "%s while waiting for a connection; last connection error: %v", s.Message(), lastErr)
}

func (cc *ClientConn) allFailedLocked() bool {
	for _, sc := range cc.subs {
		if sc.state != subFailure {
			return false
		}
	}
	return true
}

// backoffDelay is the gRPC connection-backoff delay before retry n (n>=1).
func (cc *ClientConn) backoffDelay(n int) time.Duration {
	b := cc.cfg.backoff
	d := float64(b.BaseDelay) * math.Pow(b.Multiplier, float64(n-1))
	if d > float64(b.MaxDelay) {
		d = float64(b.MaxDelay)
	}
	d *= 1 + b.Jitter*(rand.Float64()*2-1)
	return time.Duration(d)
}

// connectLoop dials sc until it succeeds or the ClientConn closes, waiting
// the backoff delay between attempts. Each attempt may take the larger of
// the minimum connect timeout and the current backoff.
func (cc *ClientConn) connectLoop(sc *subConn) {
	for attempt := 1; ; attempt++ {
		delay := cc.backoffDelay(attempt)
		timeout := max(cc.cfg.minConnect, delay)
		ctx, cancel := context.WithTimeout(cc.ctx, timeout)
		sess, err := cc.dial(ctx, sc)
		cancel()
		cc.mu.Lock()
		if cc.closed || !cc.hasSubLocked(sc) {
			cc.mu.Unlock()
			if sess != nil {
				sess.Abort(h2.ErrCodeNo, errors.New("rpc: client connection closed"))
			}
			return
		}
		if err == nil {
			sc.state, sc.sess, sc.lastErr = subReady, sess, nil
			cc.broadcastLocked()
			cc.mu.Unlock()
			go cc.watch(sc, sess)
			if cc.cfg.keepalive.Time > 0 {
				go cc.keepalive(sess)
			}
			return
		}
		sc.state, sc.lastErr = subFailure, err
		cc.broadcastLocked()
		cc.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-cc.ctx.Done():
			t.Stop()
			return
		}
		cc.mu.Lock()
		if sc.state == subFailure {
			sc.state = subConnecting
		}
		cc.mu.Unlock()
	}
}

func (cc *ClientConn) hasSubLocked(sc *subConn) bool {
	for _, s := range cc.subs {
		if s == sc {
			return true
		}
	}
	return false
}

// watch marks sc idle when its session ends, so the next call reconnects.
func (cc *ClientConn) watch(sc *subConn, sess *h2.Session) {
	<-sess.Done()
	cc.mu.Lock()
	if sc.sess == sess {
		sc.state, sc.sess = subIdle, nil
		cc.broadcastLocked()
	}
	cc.mu.Unlock()
}

// keepalive pings a connection one keepalive Time after the last bytes from
// the server arrived and drops it when the ack does not come within Timeout,
// so a dead server is noticed within Time+Timeout (a ticker that pings only
// after a whole quiet tick period could take nearly 2*Time+Timeout). Unlike
// h2's own keepalive it stays silent while no call is running (unless
// PermitWithoutStream), because gRPC servers count such pings against the
// client (too_many_pings).
func (cc *ClientConn) keepalive(sess *h2.Session) {
	kp := cc.cfg.keepalive
	timeout := kp.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	interval := time.Duration(cc.kaTime.Load())
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-sess.Done():
			return
		case <-cc.ctx.Done():
			return
		case <-t.C:
		}
		if wait := time.Until(sess.Stats().LastReceived.Add(interval)); wait > 0 {
			t.Reset(wait) // the server spoke meanwhile: it is alive until then
			continue
		}
		if !kp.PermitWithoutStream && sess.State().OpenStreams == 0 {
			t.Reset(interval)
			continue
		}
		ctx, cancel := context.WithTimeout(cc.ctx, timeout)
		_, err := sess.Ping(ctx, [8]byte{'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v'})
		cancel()
		if err != nil {
			if cc.ctx.Err() == nil {
				go sess.Abort(h2.ErrCodeNo, fmt.Errorf("%w: keepalive ping not acknowledged within %v: %w", h2.ErrConnectionLost, timeout, err))
			}
			return
		}
		t.Reset(interval)
	}
}

// backOffKeepalive doubles the keepalive interval for future connections
// after a server complained of too many pings, as gRPC clients do.
func (cc *ClientConn) backOffKeepalive() {
	for {
		old := cc.kaTime.Load()
		next := min(2*old, int64(time.Hour))
		if old == 0 || cc.kaTime.CompareAndSwap(old, next) {
			return
		}
	}
}

// onGoAway makes the next pick open a fresh connection at once while the
// old one drains.
func (cc *ClientConn) onGoAway(sc *subConn, sess *h2.Session) {
	cc.mu.Lock()
	if sc.sess == sess {
		sc.state, sc.sess = subIdle, nil
		cc.broadcastLocked()
	}
	cc.mu.Unlock()
}

func (cc *ClientConn) dial(ctx context.Context, sc *subConn) (*h2.Session, error) {
	var conn net.Conn
	var err error
	if cc.cfg.dialer != nil {
		conn, err = cc.cfg.dialer(ctx, sc.addr)
	} else {
		var d net.Dialer
		if p, ok := strings.CutPrefix(sc.addr, "unix:"); ok {
			conn, err = d.DialContext(ctx, "unix", p)
		} else {
			conn, err = d.DialContext(ctx, "tcp", withDefaultPort(sc.addr))
		}
	}
	if err != nil {
		return nil, err
	}
	if tc := cc.cfg.tlsConfig; tc != nil {
		tc = tc.Clone()
		tc.NextProtos = []string{"h2"}
		if tc.ServerName == "" {
			host, _, herr := net.SplitHostPort(cc.authority)
			if herr != nil {
				host = cc.authority
			}
			tc.ServerName = host
		}
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			if rhe := (tls.RecordHeaderError{}); errors.As(err, &rhe) {
				// The answer to our ClientHello was not TLS at all.
				return nil, fmt.Errorf("%w (the server may not use TLS: dial without WithTLS?)", err)
			}
			return nil, err
		}
		if p := tconn.ConnectionState().NegotiatedProtocol; p != "h2" {
			conn.Close()
			return nil, fmt.Errorf("rpc: server did not negotiate ALPN h2 (got %q)", p)
		}
		conn = tconn
	}
	ho := h2.Options{}
	ho.Settings.InitialWindowSize = cc.cfg.windowSize
	ho.Settings.MaxFrameSize = maxFrameSize
	ho.ConnWindowSize = cc.cfg.connWindowSize
	var goneAway atomic.Bool // once per session: a server may send GOAWAYs without end
	ho.Hooks.OnGoAway = func(s *h2.Session, code h2.ErrCode, _ uint32, debug []byte) {
		if code == h2.ErrCodeEnhanceYourCalm && string(debug) == "too_many_pings" {
			cc.backOffKeepalive()
		}
		if goneAway.CompareAndSwap(false, true) {
			go cc.onGoAway(sc, s) // hooks run on the reader: never block it on our lock
		}
	}
	// The connection is ready once the server's SETTINGS arrive, not once
	// our preface is written: a listener whose server is dying (killed, its
	// socket not yet closed) still completes handshakes, and calls placed on
	// such a connection would fail although no server ever saw them.
	settled := make(chan struct{})
	var settledOnce atomic.Bool
	ho.Hooks.OnRemoteSettings = func(*h2.Session, h2.Settings) {
		if settledOnce.CompareAndSwap(false, true) {
			close(settled)
		}
	}
	sess, err := h2.NewClientSession(conn, &h2.ClientOptions{Options: ho})
	if err != nil {
		conn.Close()
		return nil, err
	}
	// With keepalive on, a server silent for Time+Timeout is given up on
	// here too, as it would be on a connection in use.
	var silent <-chan time.Time
	if kp := cc.cfg.keepalive; kp.Time > 0 {
		t := time.NewTimer(kp.Time + kp.Timeout)
		defer t.Stop()
		silent = t.C
	}
	select {
	case <-settled:
		return sess, nil
	case <-sess.Done():
		err = sess.Err()
		if errors.Is(err, h2.ErrPeerNotHTTP2) && cc.cfg.tlsConfig == nil {
			// A TLS server closes on (or alerts at) a cleartext preface.
			err = fmt.Errorf("%w; the server may require TLS", err)
		}
		return nil, err
	case <-silent:
		err = fmt.Errorf("rpc: no SETTINGS from the server within keepalive time and timeout (%v)", cc.cfg.keepalive.Time+cc.cfg.keepalive.Timeout)
	case <-ctx.Done():
		err = fmt.Errorf("rpc: no SETTINGS from the server: %w", ctx.Err())
	}
	sess.Abort(h2.ErrCodeCancel, err)
	return nil, err
}
