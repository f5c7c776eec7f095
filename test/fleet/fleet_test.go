//go:build fleet

package fleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/dnstest"
	"github.com/h2rpc/h2rpc/internal/freeport"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		os.Exit(serve(addr))
	}
	leakcheck.Main(m)
}

const (
	name   = "fleet.h2rpc.test"
	maxAge = 2 * time.Second // servers' MaxConnectionAge: how a client comes back to DNS
	// minResolve is the dns resolver's least interval between lookups (30 s
	// by default; short here so that the test takes seconds).
	minResolve = 500 * time.Millisecond
	workers    = 16
)

const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

const roundRobinRetry = `{"loadBalancingConfig": [{"round_robin": {}}],
	"methodConfig": [{"name": [{"service": "fleet.Fleet"}], "retryPolicy": {"maxAttempts": 3,
	"initialBackoff": "0.01s", "maxBackoff": "0.1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// freePort finds a port free on 127.0.0.2 to 127.0.0.6, below the kernel's
// ephemeral range: servers 3 to 5 bind it seconds later, and a port from
// port 0 could meanwhile go to anyone's listener on the machine.
func freePort(t *testing.T) string {
	port, err := freeport.BelowEphemeral(hosts(5)...)
	require.NoError(t, err)
	return strconv.Itoa(port)
}

// load keeps workers calls running on a client and counts, per server,
// the calls it answered, and the failures by code.
type load struct {
	cc     *rpc.ClientConn
	mu     sync.Mutex
	served map[string]int
	failed map[codes.Code]int
	errs   []string
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

func startLoad(t *testing.T, cc *rpc.ClientConn) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cc: cc, served: map[string]int{}, failed: map[codes.Code]int{}, stop: cancel}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				out := new(wrapperspb.StringValue)
				var p rpc.Peer
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				err := cc.Invoke(cctx, whoMethod, wrapperspb.String("x"), out, rpc.WithPeer(&p))
				ccancel()
				l.mu.Lock()
				switch {
				case err == nil:
					l.served[out.Value]++
				case ctx.Err() == nil:
					l.failed[status.Code(err)]++
					// The server the call went to, for checks on which
					// servers' calls failed; the error text need not name it.
					l.errs = append(l.errs, fmt.Sprintf("%v (server %v)", err, p.Addr))
				}
				l.mu.Unlock()
			}
		}()
	}
	t.Cleanup(l.end)
	return l
}

func (l *load) end() {
	l.stop()
	l.wg.Wait()
}

// snapshot returns the calls served so far per server and failures so far.
func (l *load) snapshot() (map[string]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := make(map[string]int, len(l.served))
	for k, v := range l.served {
		s[k] = v
	}
	n := 0
	for _, v := range l.failed {
		n += v
	}
	return s, n
}

func diff(after, before map[string]int) map[string]int {
	d := map[string]int{}
	for k, v := range after {
		if v -= before[k]; v > 0 {
			d[k] = v
		}
	}
	return d
}

func newClient(t *testing.T, dns *dnstest.Server, port, serviceConfig string) *rpc.ClientConn {
	cc, err := rpc.NewClient("dns:///"+name+":"+port, rpc.WithInsecure(), rpc.WithDefaultServiceConfig(serviceConfig),
		rpc.WithResolvers(resolver.NewDNSBuilder(resolver.DNSOptions{Server: dns.Addr(), MinResolveInterval: minResolve})))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

func hosts(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, "127.0.0."+strconv.Itoa(i+2))
	}
	return out
}

func format(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%d", k, m[k])
	}
	return s
}

// The fleet grows from 2 to 5 servers, shrinks by graceful shutdown of 2,
// then loses one to kill -9; one client runs through all of it.
func TestFleet(t *testing.T) {
	outer := t // servers live as long as the whole run, not a subtest
	dns, err := dnstest.Start()
	require.NoError(t, err)
	defer dns.Close()
	port := freePort(t)
	all := hosts(5)
	servers := map[string]*server{}
	for _, h := range all[:2] {
		servers[h] = startServer(t, net.JoinHostPort(h, port), maxAge)
	}
	dns.Set(name, all[:2]...)
	cc := newClient(t, dns, port, roundRobin)
	l := startLoad(t, cc)
	time.Sleep(time.Second)

	t.Run("scale out from 2 to 5", func(t *testing.T) {
		for _, h := range all[2:] {
			servers[h] = startServer(outer, net.JoinHostPort(h, port), maxAge)
		}
		before, _ := l.snapshot()
		dns.Set(name, all...)
		changed := time.Now()
		waitAllServe(t, l, before, changed, len(all), 5*time.Second+maxAge)
		time.Sleep(maxAge)
		checkSpread(t, l, all, port)
		_, failed := l.snapshot()
		require.Zero(t, failed, "calls failed: %v", l.errs)
	})

	t.Run("scale in by graceful shutdown of 2", func(t *testing.T) {
		_, failedBefore := l.snapshot()
		dns.Set(name, all[:3]...)
		for _, h := range all[3:] {
			servers[h].stop(t)
		}
		time.Sleep(maxAge + time.Second)
		start, _ := l.snapshot()
		time.Sleep(time.Second)
		end, failed := l.snapshot()
		got := diff(end, start)
		t.Logf("calls per server in the second after:%s", format(got))
		require.Len(t, got, 3, "calls still reach stopped servers:%s", format(got))
		require.Equal(t, failedBefore, failed, "calls failed during a graceful scale-in: %v", l.errs)
	})

	t.Run("kill -9 of one server under load", func(t *testing.T) {
		// A second client with a retry policy for UNAVAILABLE runs alongside.
		retrying := startLoad(outer, newClient(outer, dns, port, roundRobinRetry))
		time.Sleep(time.Second)
		_, failedBefore := l.snapshot()
		_, retryFailedBefore := retrying.snapshot()
		servers[all[0]].kill()
		time.Sleep(2 * time.Second)
		_, failed := l.snapshot()
		_, retryFailed := retrying.snapshot()
		l.mu.Lock()
		codesSeen := fmt.Sprint(l.failed)
		l.mu.Unlock()
		t.Logf("without retries: %d calls failed (%s); with the retry policy: %d", failed-failedBefore, codesSeen, retryFailed-retryFailedBefore)
		checkKillFailures(t, l, failed-failedBefore, net.JoinHostPort(all[0], port))
		require.Equal(t, retryFailedBefore, retryFailed, "calls the retry policy covers failed: %v", retrying.errs)
	})
}

// waitAllServe waits until n servers have served calls since before,
// failing after limit.
func waitAllServe(t *testing.T, l *load, before map[string]int, changed time.Time, n int, limit time.Duration) {
	t.Helper()
	for {
		got := diff(mustSnapshot(l), before)
		if len(got) == n {
			t.Logf("every server took load %v after the change:%s", time.Since(changed).Round(10*time.Millisecond), format(got))
			return
		}
		require.Less(t, time.Since(changed), limit, "servers without load %v after the change:%s", limit, format(got))
		time.Sleep(50 * time.Millisecond)
	}
}

// checkSpread measures the calls each server serves over 3 s: round_robin
// must keep each within 20 % of the mean, and no call may fail.
func checkSpread(t *testing.T, l *load, all []string, port string) {
	t.Helper()
	start, _ := l.snapshot()
	time.Sleep(3 * time.Second)
	end, failed := l.snapshot()
	got := diff(end, start)
	total := 0
	for _, v := range got {
		total += v
	}
	mean := float64(total) / float64(len(all))
	t.Logf("calls per server over 3 s under round_robin (mean %.0f):%s", mean, format(got))
	for _, h := range all {
		addr := net.JoinHostPort(h, port)
		require.InDelta(t, mean, float64(got[addr]), 0.2*mean, "%s off the mean by more than 20%%:%s", addr, format(got))
	}
	require.Zero(t, failed, "calls failed: %v", l.errs)
}

// checkKillFailures checks the calls that failed when a server was killed:
// no more than were in flight, all UNAVAILABLE, all on the killed server.
func checkKillFailures(t *testing.T, l *load, failed int, killed string) {
	t.Helper()
	require.LessOrEqual(t, failed, workers, "more calls failed than were in flight: %v", l.errs)
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, n := range l.failed {
		require.Equal(t, codes.Unavailable, c, "%d calls failed with %v: %v", n, c, l.errs)
	}
	for _, e := range l.errs {
		require.Contains(t, e, killed, "a call failed that was not on the killed server")
	}
}

func mustSnapshot(l *load) map[string]int {
	s, _ := l.snapshot()
	return s
}
