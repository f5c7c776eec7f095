package rpc

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/resolver"
)

// The states of one subConn, as connectivity names them.
const (
	subIdle       = connectivity.Idle
	subConnecting = connectivity.Connecting
	subReady      = connectivity.Ready
	subFailure    = connectivity.TransientFailure
	subShutdown   = connectivity.Shutdown
)

// subConn is the connection to one address, made for the balancer
// (balancer.SubConn). Its state fields are guarded by the ClientConn's mu;
// ready is the session calls are placed on, read without locks by pick.
//
//	IDLE --Connect--> CONNECTING --SETTINGS--> READY --drop/GOAWAY--> IDLE
//	                      |  ^
//	               failed v  | backoff
//	               TRANSIENT_FAILURE          (any) --Shutdown--> SHUTDOWN
type subConn struct {
	cc       *ClientConn
	addr     resolver.Address
	listener func(balancer.SubConnState)
	health   bool // the balancer lets the client watch the server's health (balancer_health.go)

	state   connectivity.State
	sess    *h2.Session
	lastErr error
	ready   atomic.Pointer[h2.Session]
}

func (sc *subConn) Address() resolver.Address { return sc.addr }

func (sc *subConn) State() balancer.SubConnState {
	sc.cc.mu.Lock()
	defer sc.cc.mu.Unlock()
	return balancer.SubConnState{ConnectivityState: sc.state, ConnectionError: sc.lastErr}
}

// Connect starts the connect loop of an idle subConn.
func (sc *subConn) Connect() {
	cc := sc.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed || sc.state != subIdle {
		return
	}
	cc.setStateLocked(sc, subConnecting, nil)
	go cc.connectLoop(sc)
}

// Shutdown closes the connection gracefully: calls in flight finish.
func (sc *subConn) Shutdown() {
	cc := sc.cc
	cc.mu.Lock()
	if sc.state == subShutdown {
		cc.mu.Unlock()
		return
	}
	s := sc.sess
	sc.state, sc.sess = subShutdown, nil
	sc.ready.Store(nil)
	cc.removeSubLocked(sc)
	cc.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}

// setStateLocked moves sc to st and tells the balancer, in order.
func (cc *ClientConn) setStateLocked(sc *subConn, st connectivity.State, err error) {
	sc.state = st
	if err != nil {
		// Kept while the address is retried, so that a call that waits for
		// it to be ready can say why it never was.
		sc.lastErr = err
	}
	if st == subReady {
		sc.lastErr = nil
		sc.ready.Store(sc.sess)
	} else {
		sc.ready.Store(nil)
	}
	ev := balancer.SubConnState{ConnectivityState: st, ConnectionError: sc.lastErr}
	cc.ser.schedule(func() {
		cc.mu.Lock()
		gone := sc.state == subShutdown
		cc.mu.Unlock()
		if !gone && sc.listener != nil {
			sc.listener(ev)
		}
	})
}

func (cc *ClientConn) removeSubLocked(sc *subConn) {
	for i, s := range cc.subs {
		if s == sc {
			cc.subs = append(cc.subs[:i], cc.subs[i+1:]...)
			return
		}
	}
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

// connectLoop dials sc until it succeeds, is shut down or the ClientConn
// closes, waiting the backoff delay between attempts. Each attempt may take
// the larger of the minimum connect timeout and the current backoff. A
// failed attempt asks the resolver to look again: the address may be gone.
func (cc *ClientConn) connectLoop(sc *subConn) {
	for attempt := 1; ; attempt++ {
		delay := cc.backoffDelay(attempt)
		timeout := max(cc.cfg.minConnect, delay)
		ctx, cancel := context.WithTimeout(cc.ctx, timeout)
		sess, err := cc.dial(ctx, sc)
		cancel()
		cc.mu.Lock()
		if cc.closed || sc.state == subShutdown {
			cc.mu.Unlock()
			if sess != nil {
				sess.Abort(h2.ErrCodeNo, errors.New("rpc: client connection closed"))
			}
			return
		}
		if err == nil {
			sc.sess = sess
			service, watchHealth := cc.healthService(sc)
			if watchHealth {
				// READY once the server says SERVING (balancer_health.go).
				go cc.watchHealth(sc, sess, service)
			} else {
				cc.setStateLocked(sc, subReady, nil)
			}
			cc.mu.Unlock()
			go cc.watch(sc, sess)
			if cc.cfg.keepalive.Time > 0 {
				go cc.keepalive(sess)
			}
			return
		}
		cc.setStateLocked(sc, subFailure, err)
		cc.mu.Unlock()
		cc.resolveNow()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-cc.ctx.Done():
			t.Stop()
			return
		}
		cc.mu.Lock()
		if sc.state != subFailure {
			cc.mu.Unlock()
			return // shut down meanwhile
		}
		cc.setStateLocked(sc, subConnecting, nil)
		cc.mu.Unlock()
	}
}

// watch marks sc idle when its session ends.
func (cc *ClientConn) watch(sc *subConn, sess *h2.Session) {
	<-sess.Done()
	cc.connectionGone(sc, sess)
}

// connectionGone marks sc idle when sess is still its connection: the
// session ended, or it was told to go away (GOAWAY, or a pick found it
// draining) and new calls need another while it finishes its streams. The
// resolver is asked to look again, since servers going away is how a fleet
// changes (grpc-go does the same; the dns resolver rate-limits it).
func (cc *ClientConn) connectionGone(sc *subConn, sess *h2.Session) {
	cc.mu.Lock()
	if sc.sess != sess || sc.state == subShutdown {
		cc.mu.Unlock()
		return
	}
	sc.sess = nil
	cc.setStateLocked(sc, subIdle, nil)
	cc.mu.Unlock()
	cc.resolveNow()
}
