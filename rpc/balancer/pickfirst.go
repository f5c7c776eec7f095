package balancer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/resolver"
)

// PickFirst is the name of the default policy: one connection, to the
// first address that accepts, every call on it.
const PickFirst = "pick_first"

// PickFirstConfig is pick_first's configuration, {"shuffleAddressList": true}
// to try the addresses in random order (spreading clients over servers).
type PickFirstConfig struct {
	ShuffleAddressList bool `json:"shuffleAddressList"`
}

type pickFirstBuilder struct{}

func (pickFirstBuilder) Name() string { return PickFirst }

func (pickFirstBuilder) Build(cc ClientConn, _ BuildOptions) Balancer {
	return &pickFirst{cc: cc}
}

func (pickFirstBuilder) ParseConfig(js json.RawMessage) (Config, error) {
	c := &PickFirstConfig{}
	if len(js) > 0 {
		if err := json.Unmarshal(js, c); err != nil {
			return nil, fmt.Errorf("balancer: pick_first config: %w", err)
		}
	}
	return c, nil
}

// pickFirst tries the addresses in order, one at a time, until one is
// ready; it then shuts the others down. When that connection goes away
// it goes idle and reconnects on the next call (or Connect), trying the
// addresses from the start. After every address failed it reports
// TRANSIENT_FAILURE and keeps retrying them all with backoff.
type pickFirst struct {
	cc      ClientConn
	addrs   []resolver.Address
	subs    []SubConn // one per address, same order
	next    int       // the address being tried
	state   connectivity.State
	lastErr error
	idle    bool // the connection went away: connect on the next pick
}

func (b *pickFirst) UpdateClientConnState(s ClientConnState) error {
	addrs := s.ResolverState.Addresses
	if c, ok := s.BalancerConfig.(*PickFirstConfig); ok && c != nil && c.ShuffleAddressList {
		addrs = append([]resolver.Address(nil), addrs...)
		rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	}
	if len(addrs) == 0 {
		b.shutdownAll()
		b.addrs = nil
		b.lastErr = errors.New("the resolver returned no addresses")
		b.publish(connectivity.TransientFailure)
		return ErrBadResolverState
	}
	if b.state == connectivity.Ready && b.readyIn(addrs) {
		// The connection in use still serves one of the addresses: keep it
		// and have the others ready to try should it go.
		b.reset(addrs, true)
		return nil
	}
	b.reset(addrs, false)
	b.idle = false
	b.tryFrom(0)
	return nil
}

// readyIn reports whether the ready SubConn's address is in addrs.
func (b *pickFirst) readyIn(addrs []resolver.Address) bool {
	cur := b.subs[b.next].Address()
	for _, a := range addrs {
		if a.Equal(cur) {
			return true
		}
	}
	return false
}

// reset makes a SubConn per address in addrs; keepReady keeps the ready one.
func (b *pickFirst) reset(addrs []resolver.Address, keepReady bool) {
	var ready SubConn
	if keepReady {
		ready = b.subs[b.next]
	}
	for _, sc := range b.subs {
		if sc != ready {
			sc.Shutdown()
		}
	}
	b.addrs = addrs
	b.subs = make([]SubConn, 0, len(addrs))
	for i, a := range addrs {
		if ready != nil && a.Equal(ready.Address()) {
			b.subs = append(b.subs, ready)
			b.next = i
			continue
		}
		sc, err := b.newSub(a)
		if err != nil {
			return // the client is closing
		}
		b.subs = append(b.subs, sc)
	}
}

func (b *pickFirst) newSub(a resolver.Address) (SubConn, error) {
	var sc SubConn
	var err error
	sc, err = b.cc.NewSubConn(a, NewSubConnOptions{StateListener: func(st SubConnState) { b.onState(sc, st) }})
	return sc, err
}

func (b *pickFirst) tryFrom(i int) {
	b.next = i
	if b.state != connectivity.TransientFailure {
		b.publish(connectivity.Connecting)
	}
	b.subs[i].Connect()
}

func (b *pickFirst) index(sc SubConn) int {
	for i, s := range b.subs {
		if s == sc {
			return i
		}
	}
	return -1
}

func (b *pickFirst) onState(sc SubConn, st SubConnState) {
	i := b.index(sc)
	if i < 0 {
		return
	}
	switch st.ConnectivityState {
	case connectivity.Ready:
		b.next = i
		for j, other := range b.subs {
			if j != i && other.State().ConnectivityState != connectivity.Idle {
				// Stop its reconnect loop: replace it with a fresh idle one.
				other.Shutdown()
				if fresh, err := b.newSub(b.addrs[j]); err == nil {
					b.subs[j] = fresh
				}
			}
		}
		b.idle = false
		b.publish(connectivity.Ready)
	case connectivity.TransientFailure:
		b.lastErr = st.ConnectionError
		if i != b.next || b.state == connectivity.Ready {
			return
		}
		if i+1 < len(b.subs) {
			b.tryFrom(i + 1)
			return
		}
		// Every address failed once; each keeps retrying with its backoff.
		b.next = 0
		b.publish(connectivity.TransientFailure)
	case connectivity.Connecting:
		if b.idle {
			b.idle = false // the idle picker connected it
			b.publish(connectivity.Connecting)
		}
	case connectivity.Idle:
		if b.state == connectivity.Ready && i == b.next {
			b.idle, b.next = true, 0
			b.publish(connectivity.Idle)
		}
	}
}

// ExitIdle reconnects after the connection went away.
func (b *pickFirst) ExitIdle() {
	if b.idle && len(b.subs) > 0 {
		b.idle = false
		b.tryFrom(0)
	}
}

func (b *pickFirst) ResolverError(err error) {
	if len(b.subs) == 0 {
		b.lastErr = err
		b.publish(connectivity.TransientFailure)
	}
}

func (b *pickFirst) publish(s connectivity.State) {
	b.state = s
	var p Picker
	switch s {
	case connectivity.Ready:
		p = &onePicker{res: PickResult{SubConn: b.subs[b.next]}}
	case connectivity.TransientFailure:
		err := b.lastErr
		if err == nil {
			err = errors.New("no address is reachable")
		}
		p = ErrorPicker{err}
	case connectivity.Idle:
		p = &idlePicker{sc: b.subs[0]}
	default:
		p = ErrorPicker{ErrNoSubConnAvailable}
	}
	b.cc.UpdateState(State{ConnectivityState: s, Picker: p})
}

func (b *pickFirst) shutdownAll() {
	for _, sc := range b.subs {
		sc.Shutdown()
	}
	b.subs = nil
}

func (b *pickFirst) Close() { b.shutdownAll() }

type onePicker struct{ res PickResult }

func (p *onePicker) Pick(PickInfo) (PickResult, error) { return p.res, nil }

// idlePicker reconnects on the first call after pick_first's connection
// went away; the call waits for the next picker.
type idlePicker struct{ sc SubConn }

func (p *idlePicker) Pick(PickInfo) (PickResult, error) {
	p.sc.Connect()
	return PickResult{}, ErrNoSubConnAvailable
}
