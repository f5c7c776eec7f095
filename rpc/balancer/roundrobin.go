package balancer

import (
	"math/rand/v2"
	"sync/atomic"
)

// RoundRobin is the name of the policy that spreads calls over every ready
// address in turn.
const RoundRobin = "round_robin"

type roundRobinBuilder struct{}

func (roundRobinBuilder) Name() string { return RoundRobin }

func (roundRobinBuilder) Build(cc ClientConn, _ BuildOptions) Balancer {
	return newSpread(cc, newRoundRobinPicker)
}

type roundRobinPicker struct {
	ready []*Endpoint
	next  atomic.Uint32
}

func newRoundRobinPicker(_ Config, ready []*Endpoint) Picker {
	p := &roundRobinPicker{ready: ready}
	// A random start, so that clients made at once do not all begin with
	// the same server.
	p.next.Store(rand.Uint32())
	return p
}

func (p *roundRobinPicker) Pick(PickInfo) (PickResult, error) {
	i := p.next.Add(1) % uint32(len(p.ready))
	return PickResult{SubConn: p.ready[i].SubConn}, nil
}
