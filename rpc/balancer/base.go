package balancer

import (
	"errors"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/resolver"
)

// Endpoint is one ready address as a spreading balancer's picker sees it.
type Endpoint struct {
	SubConn SubConn
	Address resolver.Address
	// Outstanding counts the calls in flight on the SubConn, for pickers
	// that count (least_request); Done decrements it and is made once per
	// SubConn, so a pick allocates nothing.
	Outstanding *atomic.Int64
	Done        func(DoneInfo)
	load        *endpointLoad // weighted_round_robin's, nil for the others
}

// spreadBalancer keeps a connection to every address the resolver gives
// and publishes a picker built by newPicker over the ready ones:
// round_robin and least_request are this balancer with different pickers.
// A connection that went away (GOAWAY, MaxConnectionIdle or Age, a drop) is
// made again on the next call rather than at once: an idle client does not
// churn connections the server closed for idleness, and a busy one gets the
// address back in the spread within one call. Its aggregate state is READY
// while any is ready, then CONNECTING while any is connecting for the first
// time, then IDLE while any is idle, then TRANSIENT_FAILURE (sticky: an
// address retrying after a failure counts as failed until it is ready again,
// so calls fail fast instead of waiting through every backoff).
type spreadBalancer struct {
	cc        ClientConn
	newPicker func(cfg Config, ready []*Endpoint) Picker
	weighted  bool                                     // keep an endpointLoad per address, fed by the calls' ORCA reports
	wcfg      atomic.Pointer[WeightedRoundRobinConfig] // read by Done on the calls' goroutines
	cfg       Config
	subs      map[string]*spreadSub // by address
	order     []*spreadSub          // in the resolver's order
	lastErr   error
	resErr    error
}

type spreadSub struct {
	ep    Endpoint
	state connectivity.State // for aggregation: TransientFailure while retrying
}

func newSpread(cc ClientConn, newPicker func(Config, []*Endpoint) Picker) *spreadBalancer {
	return &spreadBalancer{cc: cc, newPicker: newPicker, subs: map[string]*spreadSub{}}
}

func addrKey(a resolver.Address) string { return a.Addr + "\x00" + a.ServerName }

func (b *spreadBalancer) UpdateClientConnState(s ClientConnState) error {
	b.cfg = s.BalancerConfig
	if b.weighted {
		b.wcfg.Store(wrrConfig(s.BalancerConfig))
	}
	b.resErr = nil
	keep := make(map[string]*spreadSub, len(s.ResolverState.Addresses))
	order := make([]*spreadSub, 0, len(s.ResolverState.Addresses))
	for _, a := range s.ResolverState.Addresses {
		k := addrKey(a)
		if _, dup := keep[k]; dup {
			continue
		}
		ss := b.subs[k]
		if ss == nil {
			var err error
			if ss, err = b.newSub(a); err != nil {
				continue // the client is closing
			}
			defer ss.ep.SubConn.Connect() // once the new state is in place
		}
		ss.ep.Address = a // attributes may have changed
		keep[k] = ss
		order = append(order, ss)
	}
	for k, ss := range b.subs {
		if keep[k] == nil {
			ss.ep.SubConn.Shutdown()
		}
	}
	b.subs, b.order = keep, order
	if len(order) == 0 {
		b.lastErr = errors.New("the resolver returned no addresses")
		b.publish()
		return ErrBadResolverState
	}
	b.publish()
	return nil
}

func (b *spreadBalancer) newSub(a resolver.Address) (*spreadSub, error) {
	ss := &spreadSub{state: connectivity.Connecting}
	n := new(atomic.Int64)
	ss.ep.Outstanding = n
	if b.weighted {
		l := &endpointLoad{}
		ss.ep.load = l
		ss.ep.Done = func(d DoneInfo) { l.report(d, b.wcfg.Load()) }
	} else {
		ss.ep.Done = func(DoneInfo) { n.Add(-1) }
	}
	sc, err := b.cc.NewSubConn(a, NewSubConnOptions{StateListener: func(st SubConnState) { b.onState(ss, st) }, HealthCheckEnabled: true})
	if err != nil {
		return nil, err
	}
	ss.ep.SubConn = sc
	return ss, nil
}

func (b *spreadBalancer) onState(ss *spreadSub, st SubConnState) {
	if b.subs[addrKey(ss.ep.Address)] != ss {
		return // removed meanwhile
	}
	if ss.ep.load != nil && st.ConnectivityState != connectivity.Ready {
		ss.ep.load.restart() // a new connection earns its weight anew (the blackout period)
	}
	switch st.ConnectivityState {
	case connectivity.Idle:
		ss.state = connectivity.Idle
	case connectivity.Connecting:
		if ss.state != connectivity.TransientFailure {
			ss.state = connectivity.Connecting
		}
	case connectivity.TransientFailure:
		ss.state = connectivity.TransientFailure
		b.lastErr = st.ConnectionError
	case connectivity.Ready:
		ss.state = connectivity.Ready
	default:
		return
	}
	b.publish()
}

func (b *spreadBalancer) ResolverError(err error) {
	b.resErr = err
	if len(b.order) == 0 {
		b.publish()
	}
}

// publish sends the aggregate state and a picker over the ready SubConns.
func (b *spreadBalancer) publish() {
	var ready []*Endpoint
	var idle []SubConn
	connecting := false
	for _, ss := range b.order {
		switch ss.state {
		case connectivity.Ready:
			ready = append(ready, &ss.ep)
		case connectivity.Connecting:
			connecting = true
		case connectivity.Idle:
			idle = append(idle, ss.ep.SubConn)
		}
	}
	switch {
	case len(ready) > 0:
		b.cc.UpdateState(State{ConnectivityState: connectivity.Ready, Picker: reconnecting(b.newPicker(b.cfg, ready), idle)})
	case connecting:
		b.cc.UpdateState(State{ConnectivityState: connectivity.Connecting, Picker: reconnecting(ErrorPicker{ErrNoSubConnAvailable}, idle)})
	case len(idle) > 0:
		b.cc.UpdateState(State{ConnectivityState: connectivity.Idle, Picker: reconnecting(ErrorPicker{ErrNoSubConnAvailable}, idle)})
	default:
		err := b.lastErr
		if len(b.order) == 0 && b.resErr != nil {
			err = b.resErr
		}
		if err == nil {
			err = errors.New("no address is reachable")
		}
		b.cc.UpdateState(State{ConnectivityState: connectivity.TransientFailure, Picker: ErrorPicker{err}})
	}
}

func (b *spreadBalancer) Close() {
	for _, ss := range b.order {
		ss.ep.SubConn.Shutdown()
	}
	b.subs, b.order = nil, nil
}

// reconnecting wraps p so that its first pick reconnects the idle SubConns.
func reconnecting(p Picker, idle []SubConn) Picker {
	if len(idle) == 0 {
		return p
	}
	return &reconnectPicker{Picker: p, idle: idle}
}

type reconnectPicker struct {
	Picker
	idle   []SubConn
	kicked atomic.Bool
}

func (p *reconnectPicker) Pick(info PickInfo) (PickResult, error) {
	if !p.kicked.Load() && p.kicked.CompareAndSwap(false, true) {
		for _, sc := range p.idle {
			sc.Connect()
		}
	}
	return p.Picker.Pick(info)
}
