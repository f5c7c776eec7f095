package rpc

import (
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/stretchr/testify/require"
)

func TestServiceConfigChoosesPickFirst(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 2)
	cc, err := NewClient(f.addr(0)+","+f.addr(1), WithInsecure(),
		WithDefaultServiceConfig(`{"loadBalancingConfig": [{"unknown_policy": {}}, {"pick_first": {}}]}`))
	require.NoError(t, err)
	defer cc.Close()
	e := &env{cc: cc}
	for range 20 {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
	}
	require.Equal(t, []int64{20, 0}, f.counts())
	st := cc.GetSubConnStates()
	require.Len(t, st, 2)
	require.Equal(t, Ready, st[0].State)
	require.Equal(t, Idle, st[1].State, "pick_first keeps no second connection")

	// The first server goes: pick_first moves to the next address.
	f.srvs[0].Stop()
	callUntilNoFail(t, cc, 5*time.Second, func() bool { return f.calls[1].Load() >= 5 })
}

func TestRoundRobinIsTheDefault(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 3)
	m := resolver.NewManual("fleet")
	m.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: f.addr(0)}, {Addr: f.addr(1)}, {Addr: f.addr(2)}}})
	cc, err := NewClient("fleet:///x", WithInsecure(), WithResolvers(m))
	require.NoError(t, err)
	defer cc.Close()
	cc.Connect()
	require.Eventually(t, func() bool {
		n := 0
		for _, s := range cc.GetSubConnStates() {
			if s.State == Ready {
				n++
			}
		}
		return n == 3
	}, 5*time.Second, time.Millisecond)
	e := &env{cc: cc}
	for range 30 {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
	}
	require.Equal(t, []int64{10, 10, 10}, f.counts())
}

// The resolver's service config replaces the default one, balancer included.
func TestResolverServiceConfigSwitchesBalancer(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 2)
	m := resolver.NewManual("fleet")
	both := []resolver.Address{{Addr: f.addr(0)}, {Addr: f.addr(1)}}
	m.InitialState(resolver.State{Addresses: both, ServiceConfig: `{"loadBalancingPolicy": "pick_first"}`})
	cc, err := NewClient("fleet:///x", WithInsecure(), WithResolvers(m))
	require.NoError(t, err)
	defer cc.Close()
	e := &env{cc: cc}
	for range 10 {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
	}
	require.Equal(t, []int64{10, 0}, f.counts())
	require.Error(t, m.UpdateState(resolver.State{Addresses: both, ServiceConfig: `{"loadBalancingPolicy": "nope"}`}))
	require.NoError(t, m.UpdateState(resolver.State{Addresses: both, ServiceConfig: `{"loadBalancingConfig": [{"round_robin": {}}]}`}))
	callUntil(t, cc, 5*time.Second, func() bool { return f.calls[1].Load() >= 5 })
}

// Picking a connection costs no allocation: the pickers keep what they
// return (round_robin's SubConns, least_request's Done per SubConn).
func TestPickAllocatesNothing(t *testing.T) {
	for _, policy := range []string{balancer.RoundRobin, balancer.LeastRequest, balancer.PickFirst} {
		t.Run(policy, func(t *testing.T) {
			f := startFleet(t, 2)
			cc, err := NewClient(f.addr(0)+","+f.addr(1), WithInsecure(),
				WithDefaultServiceConfig(`{"loadBalancingPolicy": "`+policy+`"}`))
			require.NoError(t, err)
			defer cc.Close()
			ctx := ctxTimeout(t, 5*time.Second)
			_, err = (&env{cc: cc}).echo(ctx, "x")
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(200, func() {
				_, done, err := cc.pickConn(ctx, "/test.Echo/Echo", false)
				if err != nil {
					panic(err)
				}
				if done != nil {
					done(balancer.DoneInfo{})
				}
			})
			require.Zero(t, allocs)
		})
	}
}
