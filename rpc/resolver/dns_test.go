package resolver

import (
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/dnstest"
	"github.com/stretchr/testify/require"
)

func dnsServer(t *testing.T) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func withDNS(o DNSOptions) func(string) Builder {
	b := NewDNSBuilder(o)
	return func(s string) Builder {
		if s == "dns" {
			return b
		}
		return Get(s)
	}
}

func TestDNSResolvesAndDefaultsPort(t *testing.T) {
	srv := dnsServer(t)
	srv.Set("svc.fleet.test", "127.0.0.2", "127.0.0.3")
	rec, _, err := build(t, "dns:///svc.fleet.test", withDNS(DNSOptions{Server: srv.Addr()}))
	require.NoError(t, err)
	rec.wait(t)
	require.ElementsMatch(t, []string{"127.0.0.2:443", "127.0.0.3:443"}, rec.addrs())
}

func TestDNSTargetAuthorityNamesTheServer(t *testing.T) {
	srv := dnsServer(t)
	srv.Set("svc.fleet.test", "127.0.0.4")
	rec, _, err := build(t, "dns://"+srv.Addr()+"/svc.fleet.test:8080", Get)
	require.NoError(t, err)
	rec.wait(t)
	require.Equal(t, []string{"127.0.0.4:8080"}, rec.addrs())
}

func TestDNSLiteralIPNeedsNoLookup(t *testing.T) {
	rec, r, err := build(t, "dns:///127.0.0.9:7", Get)
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.9:7"}, rec.addrs())
	r.ResolveNow() // does nothing, and Close does not hang
}

// ResolveNow looks again, but never sooner than MinResolveInterval after
// the last lookup, however often it is asked.
func TestDNSResolveNowIsRateLimited(t *testing.T) {
	srv := dnsServer(t)
	srv.Set("svc.fleet.test", "127.0.0.2")
	const minInterval = 300 * time.Millisecond
	rec, r, err := build(t, "dns:///svc.fleet.test:1", withDNS(DNSOptions{Server: srv.Addr(), MinResolveInterval: minInterval}))
	require.NoError(t, err)
	rec.wait(t)
	// From the first lookup's last answer, which came before that lookup
	// ended: the test's own clock, read once the update had reached it,
	// started late by however long a loaded machine took to deliver it.
	first := srv.LastAnswer()
	srv.Set("svc.fleet.test", "127.0.0.2", "127.0.0.3")
	for range 20 {
		r.ResolveNow()
	}
	rec.wait(t)
	require.GreaterOrEqual(t, time.Since(first), minInterval)
	require.ElementsMatch(t, []string{"127.0.0.2:1", "127.0.0.3:1"}, rec.addrs())
	// The twenty requests made one lookup: no other update follows.
	select {
	case <-rec.updated:
		t.Fatal("a second lookup for requests one lookup answered")
	case <-time.After(2 * minInterval):
	}
}

func TestDNSRefreshFindsNewAddresses(t *testing.T) {
	srv := dnsServer(t)
	srv.Set("svc.fleet.test", "127.0.0.2")
	rec, _, err := build(t, "dns:///svc.fleet.test:1", withDNS(DNSOptions{
		Server: srv.Addr(), MinResolveInterval: 50 * time.Millisecond, RefreshInterval: 100 * time.Millisecond}))
	require.NoError(t, err)
	rec.wait(t)
	srv.Set("svc.fleet.test", "127.0.0.5")
	require.Eventually(t, func() bool {
		a := rec.addrs()
		return len(a) == 1 && a[0] == "127.0.0.5:1"
	}, 5*time.Second, 10*time.Millisecond)
}

func TestDNSFailureIsReportedAndRetried(t *testing.T) {
	srv := dnsServer(t)
	rec, _, err := build(t, "dns:///missing.fleet.test:1", withDNS(DNSOptions{Server: srv.Addr(), MinResolveInterval: 100 * time.Millisecond}))
	require.NoError(t, err)
	rec.wait(t)
	rec.mu.Lock()
	require.Len(t, rec.errs, 1)
	rec.mu.Unlock()
	srv.Set("missing.fleet.test", "127.0.0.6")
	require.Eventually(t, func() bool { return len(rec.addrs()) == 1 }, 5*time.Second, 10*time.Millisecond)
}
