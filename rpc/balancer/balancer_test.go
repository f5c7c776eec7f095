package balancer

import (
	"errors"
	"sync"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/stretchr/testify/require"
)

// fakeCC records what a balancer does; its SubConns change state only when
// the test says so.
type fakeCC struct {
	mu      sync.Mutex
	subs    []*fakeSub
	state   State
	resolve int
}

type fakeSub struct {
	addr     resolver.Address
	listener func(SubConnState)
	st       SubConnState
	connects int
	shut     bool
}

func (s *fakeSub) Connect()                  { s.connects++ }
func (s *fakeSub) Shutdown()                 { s.shut = true }
func (s *fakeSub) Address() resolver.Address { return s.addr }
func (s *fakeSub) State() SubConnState       { return s.st }

func (cc *fakeCC) NewSubConn(a resolver.Address, o NewSubConnOptions) (SubConn, error) {
	s := &fakeSub{addr: a, listener: o.StateListener}
	cc.subs = append(cc.subs, s)
	return s, nil
}
func (cc *fakeCC) UpdateState(s State) { cc.state = s }
func (cc *fakeCC) ResolveNow()         { cc.resolve++ }
func (cc *fakeCC) Target() string      { return "test" }

func (cc *fakeCC) sub(addr string) *fakeSub {
	for i := len(cc.subs) - 1; i >= 0; i-- {
		if cc.subs[i].addr.Addr == addr && !cc.subs[i].shut {
			return cc.subs[i]
		}
	}
	return nil
}

func (cc *fakeCC) set(addr string, st connectivity.State, err error) {
	s := cc.sub(addr)
	s.st = SubConnState{ConnectivityState: st, ConnectionError: err}
	s.listener(s.st)
}

func addrs(as ...string) ClientConnState {
	var s ClientConnState
	for _, a := range as {
		s.ResolverState.Addresses = append(s.ResolverState.Addresses, resolver.Address{Addr: a})
	}
	return s
}

func picks(t *testing.T, p Picker, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		r, err := p.Pick(PickInfo{})
		require.NoError(t, err)
		out[r.SubConn.Address().Addr]++
		if r.Done != nil {
			r.Done(DoneInfo{})
		}
	}
	return out
}

func TestRoundRobin(t *testing.T) {
	cc := &fakeCC{}
	b := Get(RoundRobin).Build(cc, BuildOptions{})
	require.NoError(t, b.UpdateClientConnState(addrs("a", "b", "c")))
	require.Len(t, cc.subs, 3)
	for _, s := range cc.subs {
		require.Equal(t, 1, s.connects, "every address is connected at once")
	}
	require.Equal(t, connectivity.Connecting, cc.state.ConnectivityState)
	_, err := cc.state.Picker.Pick(PickInfo{})
	require.ErrorIs(t, err, ErrNoSubConnAvailable)

	cc.set("a", connectivity.Ready, nil)
	cc.set("b", connectivity.Ready, nil)
	require.Equal(t, connectivity.Ready, cc.state.ConnectivityState)
	require.Equal(t, map[string]int{"a": 50, "b": 50}, picks(t, cc.state.Picker, 100))
	cc.set("c", connectivity.Ready, nil)
	require.Equal(t, map[string]int{"a": 30, "b": 30, "c": 30}, picks(t, cc.state.Picker, 90))

	// An address that goes idle is reconnected by the next pick, once.
	cc.set("a", connectivity.Idle, nil)
	require.Equal(t, 1, cc.sub("a").connects)
	require.Equal(t, map[string]int{"b": 5, "c": 5}, picks(t, cc.state.Picker, 10))
	require.Equal(t, 2, cc.sub("a").connects)

	// Removed addresses are shut down, new ones made; kept ones stay.
	c := cc.sub("c")
	require.NoError(t, b.UpdateClientConnState(addrs("c", "d")))
	require.True(t, cc.subs[0].shut)
	require.True(t, cc.subs[1].shut)
	require.False(t, c.shut)
	require.Equal(t, map[string]int{"c": 10}, picks(t, cc.state.Picker, 10))

	// No address at all: a bad state, and calls fail.
	require.ErrorIs(t, b.UpdateClientConnState(addrs()), ErrBadResolverState)
	require.Equal(t, connectivity.TransientFailure, cc.state.ConnectivityState)
	b.Close()
}

// Once every address failed, the balancer stays in TRANSIENT_FAILURE while
// they retry (calls fail fast with the last error) until one is ready.
func TestRoundRobinStickyTransientFailure(t *testing.T) {
	cc := &fakeCC{}
	b := Get(RoundRobin).Build(cc, BuildOptions{})
	require.NoError(t, b.UpdateClientConnState(addrs("a", "b")))
	cc.set("a", connectivity.TransientFailure, errors.New("refused a"))
	require.Equal(t, connectivity.Connecting, cc.state.ConnectivityState)
	cc.set("b", connectivity.TransientFailure, errors.New("refused b"))
	require.Equal(t, connectivity.TransientFailure, cc.state.ConnectivityState)
	cc.set("a", connectivity.Connecting, nil)
	require.Equal(t, connectivity.TransientFailure, cc.state.ConnectivityState)
	_, err := cc.state.Picker.Pick(PickInfo{})
	require.EqualError(t, err, "refused b")
	cc.set("a", connectivity.Ready, nil)
	require.Equal(t, connectivity.Ready, cc.state.ConnectivityState)
}

// least_request sends calls where fewer are in flight.
func TestLeastRequest(t *testing.T) {
	cc := &fakeCC{}
	bb := Get(LeastRequest)
	cfg, err := bb.(ConfigParser).ParseConfig([]byte(`{"choiceCount": 10}`))
	require.NoError(t, err)
	b := bb.Build(cc, BuildOptions{})
	s := addrs("a", "b")
	s.BalancerConfig = cfg
	require.NoError(t, b.UpdateClientConnState(s))
	cc.set("a", connectivity.Ready, nil)
	cc.set("b", connectivity.Ready, nil)
	// Six calls in flight: each goes where fewer are, so they split.
	var held []PickResult
	for range 6 {
		r, err := cc.state.Picker.Pick(PickInfo{})
		require.NoError(t, err)
		held = append(held, r)
	}
	n := map[string]int{}
	for _, r := range held {
		n[r.SubConn.Address().Addr]++
	}
	require.Equal(t, map[string]int{"a": 3, "b": 3}, n)
	// Calls on a end: the next calls go to a.
	for _, r := range held {
		if r.SubConn.Address().Addr == "a" {
			r.Done(DoneInfo{})
		}
	}
	for range 3 {
		r, err := cc.state.Picker.Pick(PickInfo{})
		require.NoError(t, err)
		require.Equal(t, "a", r.SubConn.Address().Addr)
	}

	_, err = bb.(ConfigParser).ParseConfig([]byte(`{"choiceCount": 1}`))
	require.Error(t, err)
}

func TestPickFirst(t *testing.T) {
	cc := &fakeCC{}
	b := Get(PickFirst).Build(cc, BuildOptions{})
	require.NoError(t, b.UpdateClientConnState(addrs("a", "b", "c")))
	require.Equal(t, 1, cc.sub("a").connects)
	require.Equal(t, 0, cc.sub("b").connects, "one address at a time")
	cc.set("a", connectivity.TransientFailure, errors.New("refused"))
	require.Equal(t, 1, cc.sub("b").connects)
	require.Equal(t, connectivity.Connecting, cc.state.ConnectivityState)
	cc.set("b", connectivity.Ready, nil)
	require.Equal(t, connectivity.Ready, cc.state.ConnectivityState)
	require.Equal(t, map[string]int{"b": 10}, picks(t, cc.state.Picker, 10))
	require.True(t, cc.subs[0].shut, "the failed address retrying is stopped")

	// The connection goes away: idle until a call comes, which reconnects.
	cc.set("b", connectivity.Idle, nil)
	require.Equal(t, connectivity.Idle, cc.state.ConnectivityState)
	_, err := cc.state.Picker.Pick(PickInfo{})
	require.ErrorIs(t, err, ErrNoSubConnAvailable)
	require.Equal(t, 1, cc.sub("a").connects)

	// Every address failing: TRANSIENT_FAILURE with the last error.
	cc.set("a", connectivity.TransientFailure, errors.New("refused a"))
	cc.set("b", connectivity.TransientFailure, errors.New("refused b"))
	cc.set("c", connectivity.TransientFailure, errors.New("refused c"))
	require.Equal(t, connectivity.TransientFailure, cc.state.ConnectivityState)
	_, err = cc.state.Picker.Pick(PickInfo{})
	require.EqualError(t, err, "refused c")
	b.Close()
}
