package balancer

import (
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/orca"
	"github.com/stretchr/testify/require"
)

func wrr(t *testing.T, js string) (*fakeCC, Balancer) {
	t.Helper()
	bb := Get(WeightedRoundRobin)
	cfg, err := bb.(ConfigParser).ParseConfig([]byte(js))
	require.NoError(t, err)
	cc := &fakeCC{}
	b := bb.Build(cc, BuildOptions{})
	s := addrs("a", "b", "c")
	s.BalancerConfig = cfg
	require.NoError(t, b.UpdateClientConnState(s))
	for _, a := range []string{"a", "b", "c"} {
		cc.set(a, connectivity.Ready, nil)
	}
	return cc, b
}

// report makes calls on each address end with an ORCA report of qps and
// cpu utilization.
func report(t *testing.T, p Picker, load map[string][2]float64) {
	t.Helper()
	for range 30 {
		r, err := p.Pick(PickInfo{})
		require.NoError(t, err)
		l := load[r.SubConn.Address().Addr]
		r.Done(DoneInfo{Trailer: metadata.MD(orca.Trailer(&orca.LoadReport{RPSFractional: l[0], CPUUtilization: l[1]}))})
	}
}

func TestWeightedRoundRobinFollowsReports(t *testing.T) {
	cc, b := wrr(t, `{"blackoutPeriod": "0s", "weightUpdatePeriod": "0.1s"}`)
	defer b.Close()
	p := cc.state.Picker
	require.Equal(t, map[string]int{"a": 100, "b": 100, "c": 100}, picks(t, p, 300), "no weights yet: round-robin")
	// a: 100 qps at 25 % CPU (weight 400); b: at 50 % (200); c: at 100 % (100).
	report(t, p, map[string][2]float64{"a": {100, 0.25}, "b": {100, 0.5}, "c": {100, 1}})
	time.Sleep(150 * time.Millisecond)
	got := picks(t, p, 7000)
	require.InDelta(t, 4000, got["a"], 200, "%v", got)
	require.InDelta(t, 2000, got["b"], 200, "%v", got)
	require.InDelta(t, 1000, got["c"], 200, "%v", got)
}

func TestWeightedRoundRobinBlackout(t *testing.T) {
	cc, b := wrr(t, `{"blackoutPeriod": "3600s", "weightUpdatePeriod": "0.1s"}`)
	defer b.Close()
	p := cc.state.Picker
	report(t, p, map[string][2]float64{"a": {100, 0.25}, "b": {100, 0.5}, "c": {100, 1}})
	time.Sleep(150 * time.Millisecond)
	got := picks(t, p, 300)
	require.Equal(t, map[string]int{"a": 100, "b": 100, "c": 100}, got, "weights count only after the blackout")
}

func TestWeightedRoundRobinConfig(t *testing.T) {
	c, err := weightedRoundRobinBuilder{}.ParseConfig([]byte(`{"weightUpdatePeriod": "0.01s", "errorUtilizationPenalty": 2}`))
	require.NoError(t, err)
	w := c.(*WeightedRoundRobinConfig)
	require.Equal(t, 100*time.Millisecond, w.WeightUpdatePeriod, "at least 100 ms")
	require.Equal(t, 10*time.Second, w.BlackoutPeriod)
	require.Equal(t, 2.0, w.ErrorUtilizationPenalty)
	for _, bad := range []string{`{"blackoutPeriod": "10"}`, `{"errorUtilizationPenalty": -1}`, `[]`} {
		_, err := weightedRoundRobinBuilder{}.ParseConfig([]byte(bad))
		require.Error(t, err, bad)
	}
}
