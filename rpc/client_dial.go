package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/resolver"
)

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

func (cc *ClientConn) dial(ctx context.Context, sc *subConn) (*h2.Session, error) {
	conn, err := cc.dialAddr(ctx, sc.addr, "h2", false)
	if err != nil {
		return nil, err
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
			go cc.connectionGone(sc, s) // hooks run on the reader: never block it on our lock
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
		if h := cc.cfg.hooks.conns; h != nil {
			trackConn(h, sess, true)
		}
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

// dialAddr connects to addr as every connection of the client does: with
// the WithContextDialer dialer, to a Unix socket ("unix:" addresses), or
// over TCP (through a proxy, dialTCP); under WithTLS it then shakes hands
// offering ALPN alpn, and fails unless the server chose it (or chose none,
// when noALPN allows it: HTTP/1.1 servers need not speak ALPN).
func (cc *ClientConn) dialAddr(ctx context.Context, addr resolver.Address, alpn string, noALPN bool) (net.Conn, error) {
	var conn net.Conn
	var err error
	if cc.cfg.dialer != nil {
		conn, err = cc.cfg.dialer(ctx, addr.Addr)
	} else {
		var d net.Dialer
		if p, ok := strings.CutPrefix(addr.Addr, "unix:"); ok {
			conn, err = d.DialContext(ctx, "unix", p)
		} else {
			conn, err = cc.dialTCP(ctx, withDefaultPort(addr.Addr))
		}
	}
	if err != nil {
		return nil, err
	}
	tc := cc.cfg.tlsConfig
	if tc == nil {
		return conn, nil
	}
	tc = tc.Clone()
	tc.NextProtos = []string{alpn}
	if tc.ServerName == "" {
		name := cc.authority
		if addr.ServerName != "" {
			name = addr.ServerName
		}
		host, _, herr := net.SplitHostPort(name)
		if herr != nil {
			host = name
		}
		tc.ServerName = host
	}
	tconn := h2.TLSClient(conn, tc)
	if err := tconn.HandshakeContext(ctx); err != nil {
		conn.Close()
		if rhe := (tls.RecordHeaderError{}); errors.As(err, &rhe) {
			// The answer to our ClientHello was not TLS at all.
			return nil, fmt.Errorf("%w (the server may not use TLS: dial without WithTLS?)", err)
		}
		return nil, err
	}
	if p := tconn.ConnectionState().NegotiatedProtocol; p != alpn && !(p == "" && noALPN) {
		conn.Close()
		return nil, fmt.Errorf("rpc: server did not negotiate ALPN %s (got %q)", alpn, p)
	}
	return tconn, nil
}
