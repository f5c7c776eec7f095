package rpc

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Client-side health checking (gRFC A17). With a healthCheckConfig in the
// service config, and a balancer that allows it (round_robin and the other
// spreading policies; not pick_first), each connection watches the
// server's health with grpc.health.v1.Health/Watch on itself: the address
// is READY while the server says SERVING and TRANSIENT_FAILURE otherwise,
// so the balancer stops sending calls to a server that says it should get
// none, before it goes away. A server without the Health service
// (UNIMPLEMENTED) is taken as healthy. A Watch that fails otherwise is
// opened again with the connection backoff while the connection lives.

const healthWatchMethod = "/grpc.health.v1.Health/Watch"

var healthWatchDesc = &StreamDesc{StreamName: "Watch", ServerStreams: true}

// The ServingStatus values of grpc.health.v1.HealthCheckResponse.
var servingStatusNames = [...]string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}

const servingStatusServing = 1

// healthService returns the service name to watch on sc's connections, if
// health checking applies to sc.
func (cc *ClientConn) healthService(sc *subConn) (string, bool) {
	if !sc.health {
		return "", false
	}
	cfg := cc.sc.Load()
	if cfg == nil || cfg.health == nil {
		return "", false
	}
	return *cfg.health, true
}

// pinnedOpt places a call on one connection instead of asking the balancer.
type pinnedOpt struct{ s *h2.Session }

func (o pinnedOpt) apply(c *callInfo) { c.pinned = o.s }

// pickFor returns the connection for a call: its pinned one, or the
// balancer's pick.
func (cc *ClientConn) pickFor(ctx context.Context, method string, ci *callInfo) (*h2.Session, func(balancer.DoneInfo), error) {
	if s := ci.pinned; s != nil {
		if !s.CanRequest() {
			return nil, nil, status.Error(codes.Unavailable, "rpc: the connection is going away")
		}
		return s, nil, nil
	}
	return cc.pickConn(ctx, method, ci.waitForReady)
}

// watchHealth runs while sess is sc's connection.
func (cc *ClientConn) watchHealth(sc *subConn, sess *h2.Session, service string) {
	for attempt := 1; ; attempt++ {
		err := cc.healthWatch(sc, sess, service)
		if status.Code(err) == codes.Unimplemented {
			cc.setHealth(sc, sess, subReady, nil)
			return
		}
		if !cc.setHealth(sc, sess, subFailure, fmt.Errorf("rpc: health check of %q: %w", service, err)) {
			return // the connection is gone
		}
		t := time.NewTimer(cc.backoffDelay(attempt))
		select {
		case <-t.C:
		case <-sess.Done():
			t.Stop()
			return
		case <-cc.ctx.Done():
			t.Stop()
			return
		}
	}
}

// healthWatch follows one Watch call until it ends.
func (cc *ClientConn) healthWatch(sc *subConn, sess *h2.Session, service string) error {
	// The call ends with the connection (UNAVAILABLE) or the client (cc.ctx).
	cs, err := newStream(cc.ctx, healthWatchDesc, cc, healthWatchMethod, pinnedOpt{sess})
	if err != nil {
		return err
	}
	if err := cs.SendMsg(wrapperspb.String(service)); err != nil && err != io.EOF {
		return err
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	// HealthCheckResponse is {ServingStatus status = 1}: on the wire, an
	// Int32Value.
	resp := new(wrapperspb.Int32Value)
	for {
		if err := cs.RecvMsg(resp); err != nil {
			return err
		}
		if resp.Value == servingStatusServing {
			cc.setHealth(sc, sess, subReady, nil)
			continue
		}
		name := fmt.Sprint(resp.Value)
		if int(resp.Value) < len(servingStatusNames) {
			name = servingStatusNames[resp.Value]
		}
		cc.setHealth(sc, sess, subFailure, fmt.Errorf("rpc: health check of %q: the server says %s", service, name))
	}
}

// setHealth moves sc to st while sess is its connection; it reports false
// once sess is no longer.
func (cc *ClientConn) setHealth(sc *subConn, sess *h2.Session, st ConnectivityState, err error) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if sc.sess != sess || sc.state == subShutdown || cc.closed {
		return false
	}
	if sc.state != st {
		cc.setStateLocked(sc, st, err)
	}
	return true
}
