package rpc

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// The client's side of the balancer: the serializer that runs the
// balancer, the balancer.ClientConn it is given, and pick, which asks the
// published picker for a connection on every call.

// serializer runs functions one at a time, in the order scheduled, on a
// goroutine that exists only while there is work: the balancer's methods
// and subConn state listeners run there, never under the ClientConn's mu,
// so a balancer may call back into the ClientConn freely.
type serializer struct {
	mu      sync.Mutex
	q       []func()
	running bool
	closed  bool
	wg      sync.WaitGroup
}

// schedule queues f; it is dropped once the serializer is closed.
func (s *serializer) schedule(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.q = append(s.q, f)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.run()
	}
}

func (s *serializer) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.q) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		f := s.q[0]
		s.q[0] = nil
		s.q = s.q[1:]
		s.mu.Unlock()
		f()
	}
}

// closeWith runs last after everything queued, refuses anything later and
// waits until it has run.
func (s *serializer) closeWith(last func()) {
	s.schedule(last)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}

// pickerGen is a published picker; next is closed when a newer one replaces
// it, which wakes the calls waiting for a connection.
type pickerGen struct {
	p    balancer.Picker
	next chan struct{}
}

func (cc *ClientConn) setPickerLocked(p balancer.Picker) {
	old := cc.picker.Swap(&pickerGen{p: p, next: make(chan struct{})})
	if old != nil {
		close(old.next)
	}
}

// idlePicker is the picker until the first call: it starts resolving.
type idlePicker struct{ cc *ClientConn }

func (p idlePicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	p.cc.exitIdle()
	return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
}

// pickConn returns a connection ready for a new stream of the call to
// method, and the picker's Done for the call's end (often nil). It waits
// while the balancer has no connection ready (ErrNoSubConnAvailable); a
// picker's other errors fail the call with UNAVAILABLE at once, unless it
// waits for ready, when it waits until ctx ends. Status errors (a closed
// client's CANCELED, a balancer's drop) fail it either way.
func (cc *ClientConn) pickConn(ctx context.Context, method string, waitForReady bool) (*h2.Session, func(balancer.DoneInfo), error) {
	var lastErr error
	for {
		pg := cc.picker.Load()
		res, err := pg.p.Pick(balancer.PickInfo{FullMethodName: method, Ctx: ctx})
		switch {
		case err == nil:
			if sc, ok := res.SubConn.(*subConn); ok {
				if s := sc.ready.Load(); s != nil {
					if s.CanRequest() {
						return s, res.Done, nil
					}
					// Draining after a GOAWAY whose hook has not run yet:
					// let it finish its streams and connect anew.
					cc.connectionGone(sc, s)
				}
			}
			if res.Done != nil {
				res.Done(balancer.DoneInfo{Err: errNotReady})
			}
		case errors.Is(err, balancer.ErrNoSubConnAvailable):
		default:
			if _, ok := status.FromError(err); ok {
				return nil, nil, err
			}
			if !waitForReady {
				return nil, nil, status.Errorf(codes.Unavailable, "rpc: connection failed: %v", err)
			}
			lastErr = err
		}
		if lastErr == nil {
			lastErr = cc.lastConnError()
		}
		select {
		case <-pg.next:
		case <-ctx.Done():
			return nil, nil, waitEnded(ctx.Err(), lastErr)
		}
	}
}

// errNotReady ends a pick whose connection turned out to be going away.
var errNotReady = status.Error(codes.Unavailable, "rpc: the picked connection is going away")

// pick returns a connection for a call, for callers that place streams
// themselves (transparent retries of a stream, tests).
func (cc *ClientConn) pick(ctx context.Context, waitForReady bool) (*h2.Session, error) {
	s, _, err := cc.pickConn(ctx, "", waitForReady)
	return s, err
}

// lastConnError is the latest connection error of any address, to say why
// a call that waited got no connection.
func (cc *ClientConn) lastConnError() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, sc := range cc.subs {
		if sc.lastErr != nil {
			return sc.lastErr
		}
	}
	return nil
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

// ccBalancer is the ClientConn as its balancer sees it.
type ccBalancer struct{ cc *ClientConn }

func (b ccBalancer) NewSubConn(a resolver.Address, o balancer.NewSubConnOptions) (balancer.SubConn, error) {
	cc := b.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed {
		return nil, errClosing
	}
	sc := &subConn{cc: cc, addr: a, listener: o.StateListener, health: o.HealthCheckEnabled}
	cc.subs = append(cc.subs, sc)
	return sc, nil
}

func (b ccBalancer) UpdateState(s balancer.State) {
	cc := b.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed {
		return
	}
	cc.setPickerLocked(s.Picker)
	if cc.state != s.ConnectivityState {
		cc.state = s.ConnectivityState
		close(cc.changed)
		cc.changed = make(chan struct{})
	}
}

func (b ccBalancer) ResolveNow()    { b.cc.resolveNow() }
func (b ccBalancer) Target() string { return b.cc.target }

// ccResolver is the ClientConn as its resolver sees it.
type ccResolver struct{ cc *ClientConn }

// UpdateState checks the service config at once (an invalid one is refused
// and the previous one stays), then hands the addresses to the balancer.
func (r ccResolver) UpdateState(s resolver.State) error {
	cc := r.cc
	var sc *serviceConfig
	if s.ServiceConfig != "" && !cc.cfg.disableServiceConfig {
		var err error
		if sc, err = parseServiceConfig(s.ServiceConfig); err != nil {
			return err
		}
	}
	cc.ser.schedule(func() { cc.applyResolverState(s, sc) })
	return nil
}

// ReportError fails calls with err while no address is known; a balancer
// with addresses keeps using them.
func (r ccResolver) ReportError(err error) {
	cc := r.cc
	cc.ser.schedule(func() {
		cc.markConfigured() // no config to wait for: the calls fail at the pick
		if cc.bal != nil {
			cc.bal.ResolverError(err)
			return
		}
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if !cc.closed {
			cc.setPickerLocked(balancer.ErrorPicker{Err: err})
			if cc.state != connectivity.TransientFailure {
				cc.state = connectivity.TransientFailure
				close(cc.changed)
				cc.changed = make(chan struct{})
			}
		}
	})
}

// applyResolverState runs on the serializer: it settles the service config
// (the resolver's, else WithDefaultServiceConfig's), switches balancer when
// the config names another, and updates the balancer.
func (cc *ClientConn) applyResolverState(s resolver.State, sc *serviceConfig) {
	if sc != nil {
		cc.resolverSC = sc
	}
	cfg := cc.resolverSC
	if cfg == nil {
		cfg = cc.defaultSC
	}
	if cfg == nil {
		cfg = emptyServiceConfig
	}
	cc.sc.Store(cfg)
	cc.markConfigured()
	name, lbCfg := cfg.lbName, cfg.lbConfig
	if cc.bal == nil || name != cc.balName {
		if cc.bal != nil {
			cc.bal.Close()
		}
		cc.bal = balancer.Get(name).Build(ccBalancer{cc}, balancer.BuildOptions{Target: cc.target})
		cc.balName = name
	}
	_ = cc.bal.UpdateClientConnState(balancer.ClientConnState{ResolverState: s, BalancerConfig: lbCfg})
}

// pickDone tells the picker that placed the call's current attempt how it
// ended, once, and the retry throttle when it ended OK.
func (cs *clientStream) pickDone(err error) {
	if err == io.EOF {
		err = nil
	}
	if err == nil && cs.sc != nil {
		cs.sc.throttle.succeeded()
	}
	if d := cs.done; d != nil {
		cs.done = nil
		d(balancer.DoneInfo{Err: err, Trailer: cs.trailer})
	}
}

// errRetried ends, for its picker, an attempt that is being retried.
var errRetried = status.Error(codes.Unavailable, "rpc: the attempt is being retried")
