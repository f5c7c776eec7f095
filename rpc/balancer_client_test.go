package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/orca"
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
	// The balancer hears of each subchannel's state after GetSubConnStates
	// does (its updates run on the serializer), so the picker may still
	// hold two: calls go on until every server has had one, then the
	// picker holds three and the next 30 calls go 10 to each.
	callUntil(t, cc, 5*time.Second, func() bool {
		c := f.counts()
		return c[0] > 0 && c[1] > 0 && c[2] > 0
	})
	before := f.counts()
	e := &env{cc: cc}
	for range 30 {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
	}
	after := f.counts()
	for i := range after {
		after[i] -= before[i]
	}
	require.Equal(t, []int64{10, 10, 10}, after)
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
	for _, policy := range []string{balancer.RoundRobin, balancer.LeastRequest, balancer.PickFirst, balancer.WeightedRoundRobin} {
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

// weighted_round_robin spreads calls by the load servers report on them
// (ORCA, endpoint-load-metrics-bin): a server at 20 % CPU takes four times
// the calls of one at 80 % serving the same rate.
func TestWeightedRoundRobinFollowsORCAReports(t *testing.T) {
	checkNoLeaks(t)
	cpu := []float64{0.2, 0.8}
	f := startFleetWith(t, 2, func(i int) []ServerOption {
		report := orca.Trailer(&orca.LoadReport{RPSFractional: 100, CPUUtilization: cpu[i]})
		return []ServerOption{ChainUnaryInterceptor(func(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
			if err := SetTrailer(ctx, report); err != nil {
				return nil, err
			}
			return h(ctx, req)
		})}
	})
	cc, err := NewClient(f.addr(0)+","+f.addr(1), WithInsecure(), WithDefaultServiceConfig(
		`{"loadBalancingConfig": [{"weighted_round_robin": {"blackoutPeriod": "0s", "weightUpdatePeriod": "0.1s"}}]}`))
	require.NoError(t, err)
	defer cc.Close()
	e := &env{cc: cc}
	callUntil(t, cc, 5*time.Second, func() bool { return f.calls[0].Load() >= 10 && f.calls[1].Load() >= 10 })
	time.Sleep(150 * time.Millisecond)
	before := f.counts()
	for range 500 {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
	}
	after := f.counts()
	require.InDelta(t, 400, after[0]-before[0], 40, "calls: %v then %v", before, after)
}
