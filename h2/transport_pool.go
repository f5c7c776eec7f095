package h2

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// transportPool holds a Transport's sessions by authority. One mutex guards
// it all: what it protects is a few counters and short lists, and every
// decision (which session, whether to dial) needs a consistent view of them.
// It is never held while waiting for a session.
type transportPool struct {
	mu    sync.Mutex
	hosts map[hostKey]*hostPool
}

// hostKey names an authority: TLS or not, and host:port with the default
// port filled in.
type hostKey struct {
	tls      bool
	hostPort string
}

// hostPool is one authority's sessions and its dial in progress.
type hostPool struct {
	key        hostKey
	serverName string // for TLS: the URL's host
	conns      []*transportConn
	dialing    *poolDial
	// http1 is set once a TLS server chose HTTP/1 in ALPN and Transport.HTTP1
	// took its requests: later ones go straight there.
	http1 atomic.Bool
}

// poolDial is a dial that the requests arriving while it runs share.
type poolDial struct {
	done chan struct{}
	err  error // set before done is closed
}

// transportConn is one pooled session and the requests it carries.
type transportConn struct {
	t        *Transport
	hp       *hostPool
	sess     *Session
	tlsState *tls.ConnectionState
	// The fields below are guarded by the pool's mutex.
	maxStreams uint32 // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	active     int    // requests assigned to it and not yet done
	served     int    // requests ever assigned to it (GotConn's Reused)
	idleSince  time.Time
	gone       bool // removed from the pool (GOAWAY, closed, idle)
	idleTimer  *time.Timer
}

// host returns the pool of u's authority, creating it on first use.
func (p *transportPool) host(u *url.URL, tlsOn bool) *hostPool {
	hostPort := strings.ToLower(u.Host) // no allocation when already lower case
	if u.Port() == "" {
		port := "80"
		if tlsOn {
			port = "443"
		}
		hostPort = net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	}
	key := hostKey{tls: tlsOn, hostPort: hostPort}
	p.mu.Lock()
	defer p.mu.Unlock()
	hp := p.hosts[key]
	if hp == nil {
		if p.hosts == nil {
			p.hosts = make(map[hostKey]*hostPool)
		}
		hp = &hostPool{key: key, serverName: u.Hostname()}
		p.hosts[key] = hp
	}
	return hp
}

// get reserves a stream slot on a session to hp's authority: on one with a
// free slot, else on a session being dialed, else on a new one, else (at
// MaxSessionsPerHost, or with StrictMaxConcurrentStreams) on the least busy
// session, where Session.Request waits for a slot. A request dials (or waits
// for a dial) once: if the new session is full by then, it waits on the
// least busy one rather than dialing again, which a server advertising no
// streams at all would otherwise make endless.
func (p *transportPool) get(ctx context.Context, t *Transport, hp *hostPool) (tc *transportConn, reused bool, err error) {
	waited := false
	p.mu.Lock()
	for {
		var best *transportConn
		usable := 0
		for _, tc := range hp.conns {
			if !tc.sess.CanRequest() {
				continue // a GOAWAY arrived: the hook removes it shortly
			}
			usable++
			if uint64(tc.active) < uint64(tc.maxStreams) {
				reused = tc.reserveLocked()
				p.mu.Unlock()
				return tc, reused, nil
			}
			if best == nil || tc.active < best.active {
				best = tc
			}
		}
		atLimit := waited || t.StrictMaxConcurrentStreams || t.MaxSessionsPerHost > 0 && usable >= t.MaxSessionsPerHost
		if best != nil && atLimit {
			reused = best.reserveLocked()
			p.mu.Unlock()
			return best, reused, nil
		}
		d := hp.dialing
		if d == nil {
			d = &poolDial{done: make(chan struct{})}
			hp.dialing = d
			go p.dial(t, hp, d)
		}
		p.mu.Unlock()
		select {
		case <-d.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if d.err != nil {
			return nil, false, d.err
		}
		waited = true
		p.mu.Lock()
	}
}

// reserveLocked takes a stream slot on tc and reports whether tc had
// carried a request before.
func (tc *transportConn) reserveLocked() bool {
	tc.active++
	tc.served++
	return tc.served > 1
}

// release gives back a slot that get reserved.
func (p *transportPool) release(tc *transportConn) {
	p.mu.Lock()
	tc.active--
	if tc.active == 0 && tc.idleTimer != nil {
		tc.idleSince = time.Now()
	}
	p.mu.Unlock()
}

// dial connects a new session for hp and publishes it once the server's
// SETTINGS have arrived: its stream limit is known before requests are
// assigned to it, and a server that is not HTTP/2 fails the dial itself.
func (p *transportPool) dial(t *Transport, hp *hostPool, d *poolDial) {
	tc, err := p.connect(t, hp)
	p.mu.Lock()
	hp.dialing = nil
	if err == nil {
		hp.conns = append(hp.conns, tc)
		if t.IdleConnTimeout > 0 {
			tc.idleSince = time.Now()
			tc.idleTimer = time.AfterFunc(t.IdleConnTimeout, func() { p.checkIdle(tc) })
		}
	}
	d.err = err
	p.mu.Unlock()
	close(d.done)
}

func (p *transportPool) connect(t *Transport, hp *hostPool) (*transportConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.dialTimeout())
	defer cancel()
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	addr := hp.key.hostPort
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("h2: dialing %s: %w", addr, err)
	}
	tc := &transportConn{t: t, hp: hp, maxStreams: 100}
	if hp.key.tls {
		cfg := &tls.Config{}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
		}
		cfg.NextProtos = []string{"h2"}
		if t.HTTP1 != nil {
			cfg.NextProtos = append(cfg.NextProtos, "http/1.1")
		}
		if cfg.ServerName == "" {
			cfg.ServerName = hp.serverName
		}
		tlsConn := TLSClient(c, cfg)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			if strings.Contains(err.Error(), "no application protocol") {
				// The server refused the handshake over ALPN (crypto/tls
				// reports the alert only as text): it does not speak h2.
				return nil, fmt.Errorf("%w: %s: %w", ErrNotNegotiatedH2, addr, err)
			}
			return nil, fmt.Errorf("h2: TLS handshake with %s: %w", addr, err)
		}
		if proto := tlsConn.ConnectionState().NegotiatedProtocol; proto != "h2" {
			_ = tlsConn.Close()
			if t.HTTP1 != nil {
				hp.http1.Store(true)
				return nil, errUseHTTP1
			}
			return nil, fmt.Errorf("%w: %s chose %q", ErrNotNegotiatedH2, addr, proto)
		}
		tc.tlsState = tlsStateOf(tlsConn)
		c = tlsConn
	}
	settled := make(chan struct{})
	var once sync.Once
	opts := t.Options
	user := t.Options.Hooks
	opts.Hooks.OnRemoteSettings = func(s *Session, set Settings) {
		p.mu.Lock()
		tc.maxStreams = set.MaxConcurrentStreams
		p.mu.Unlock()
		once.Do(func() { close(settled) })
		if user.OnRemoteSettings != nil {
			user.OnRemoteSettings(s, set)
		}
	}
	opts.Hooks.OnGoAway = func(s *Session, code ErrCode, last uint32, debug []byte) {
		p.remove(tc)
		if user.OnGoAway != nil {
			user.OnGoAway(s, code, last, debug)
		}
	}
	opts.Hooks.OnClose = func(s *Session, err error) {
		p.remove(tc)
		if user.OnClose != nil {
			user.OnClose(s, err)
		}
	}
	sess, err := NewClientSession(c, &ClientOptions{Options: opts})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	tc.sess = sess
	select {
	case <-settled:
		return tc, nil
	case <-sess.Done():
		err = sess.Err()
		if err == nil {
			err = ErrPeerNotHTTP2
		}
	case <-ctx.Done():
		err = fmt.Errorf("no SETTINGS from the server: %w", ctx.Err())
		sess.Abort(ErrCodeSettingsTimeout, err)
	}
	return nil, fmt.Errorf("h2: starting a session with %s: %w", addr, err)
}

// remove takes tc out of the pool: no new request will use it.
func (p *transportPool) remove(tc *transportConn) {
	p.mu.Lock()
	p.removeLocked(tc)
	p.mu.Unlock()
}

func (p *transportPool) removeLocked(tc *transportConn) {
	if tc.gone {
		return
	}
	tc.gone = true
	if tc.idleTimer != nil {
		tc.idleTimer.Stop()
	}
	hp := tc.hp
	for i, c := range hp.conns {
		if c == tc {
			hp.conns = append(hp.conns[:i], hp.conns[i+1:]...)
			break
		}
	}
}

// checkIdle closes tc if it has been idle for IdleConnTimeout, or looks
// again when it could next be: the timer is set once per session, not
// reset per request.
func (p *transportPool) checkIdle(tc *transportConn) {
	timeout := tc.t.IdleConnTimeout
	p.mu.Lock()
	if tc.gone {
		p.mu.Unlock()
		return
	}
	if tc.active > 0 {
		tc.idleTimer.Reset(timeout)
		p.mu.Unlock()
		return
	}
	if left := timeout - time.Since(tc.idleSince); left > 0 {
		tc.idleTimer.Reset(left)
		p.mu.Unlock()
		return
	}
	p.removeLocked(tc)
	p.mu.Unlock()
	_ = tc.sess.Close()
}

// closeIdle closes every session without a request in flight, and forgets
// which authorities spoke only HTTP/1.
func (p *transportPool) closeIdle() {
	var idle []*transportConn
	p.mu.Lock()
	for _, hp := range p.hosts {
		hp.http1.Store(false)
		for _, tc := range append([]*transportConn(nil), hp.conns...) {
			if tc.active == 0 {
				p.removeLocked(tc)
				idle = append(idle, tc)
			}
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, tc := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = tc.sess.Close()
		}()
	}
	wg.Wait()
}
