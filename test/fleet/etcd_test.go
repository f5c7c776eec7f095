//go:build fleet

package fleet

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/freeport"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/resolver/etcd"
	"github.com/stretchr/testify/require"
)

// startEtcd runs a one-member etcd (Debian's etcd-server) on loopback ports
// of its own, with its data in a temporary directory, and returns its
// client address.
func startEtcd(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("etcd")
	require.NoError(t, err, "the fleet suite needs etcd (apt-get install etcd-server): run.sh installs it")
	client, peer := freeLoopbackPort(t), freeLoopbackPort(t)
	for peer == client {
		peer = freeLoopbackPort(t)
	}
	clientURL, peerURL := "http://127.0.0.1:"+client, "http://127.0.0.1:"+peer
	cmd := exec.Command("etcd", "--name", "fleet", "--data-dir", t.TempDir(),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "fleet="+peerURL, "--log-level", "error")
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + client
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 50*time.Millisecond, "etcd did not start")
	return addr
}

// freeLoopbackPort is a port free on 127.0.0.1 below the kernel's ephemeral
// range, which nobody else is handed before etcd binds it.
func freeLoopbackPort(t *testing.T) string {
	port, err := freeport.BelowEphemeral("127.0.0.1")
	require.NoError(t, err)
	return strconv.Itoa(port)
}

func newEtcdClient(t *testing.T, b *etcd.Builder, serviceConfig string) *rpc.ClientConn {
	cc, err := rpc.NewClient("etcd:///fleet", rpc.WithInsecure(), rpc.WithDefaultServiceConfig(serviceConfig), rpc.WithResolvers(b))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

// The three runs again with servers that register themselves in etcd under
// a lease, and clients that watch the registry: no MaxConnectionAge is
// needed, the watch tells the client at once.
func TestFleetEtcd(t *testing.T) {
	outer := t
	etcdAddr := startEtcd(t)
	ecc, err := rpc.NewClient(etcdAddr, rpc.WithInsecure())
	require.NoError(t, err)
	defer ecc.Close()
	b := etcd.NewBuilder(ecc, "")
	port := freePort(t)
	all := hosts(5)
	servers := map[string]*server{}
	start := func(t *testing.T, h string) {
		servers[h] = startServer(t, net.JoinHostPort(h, port), 0, etcdEnv+"="+etcdAddr)
	}
	for _, h := range all[:2] {
		start(t, h)
	}
	cc := newEtcdClient(t, b, roundRobin)
	l := startLoad(t, cc)
	time.Sleep(time.Second)

	t.Run("scale out from 2 to 5", func(t *testing.T) {
		before, _ := l.snapshot()
		changed := time.Now()
		for _, h := range all[2:] {
			start(outer, h)
		}
		waitAllServe(t, l, before, changed, len(all), 5*time.Second)
		checkSpread(t, l, all, port)
	})

	t.Run("scale in by graceful shutdown of 2", func(t *testing.T) {
		_, failedBefore := l.snapshot()
		for _, h := range all[3:] {
			servers[h].stop(t)
		}
		time.Sleep(time.Second)
		start, _ := l.snapshot()
		time.Sleep(time.Second)
		end, failed := l.snapshot()
		got := diff(end, start)
		t.Logf("calls per server in the second after:%s", format(got))
		require.Len(t, got, 3, "calls still reach stopped servers:%s", format(got))
		require.Equal(t, failedBefore, failed, "calls failed during a graceful scale-in: %v", l.errs)
	})

	t.Run("kill -9 of one server under load; its lease expires", func(t *testing.T) {
		retrying := startLoad(outer, newEtcdClient(outer, b, roundRobinRetry))
		time.Sleep(time.Second)
		_, failedBefore := l.snapshot()
		_, retryFailedBefore := retrying.snapshot()
		killed := net.JoinHostPort(all[0], port)
		servers[all[0]].kill()
		require.Eventually(t, func() bool {
			for _, s := range cc.GetSubConnStates() {
				if s.Addr == killed {
					return false
				}
			}
			return true
		}, leaseTTL+5*time.Second, 50*time.Millisecond, "the killed server stayed in the registry past its lease")
		_, failed := l.snapshot()
		_, retryFailed := retrying.snapshot()
		t.Logf("without retries: %d calls failed; with the retry policy: %d", failed-failedBefore, retryFailed-retryFailedBefore)
		checkKillFailures(t, l, failed-failedBefore, killed)
		require.Equal(t, retryFailedBefore, retryFailed, "calls the retry policy covers failed: %v", retrying.errs)
	})
}
