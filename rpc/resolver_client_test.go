package rpc

import (
	"errors"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/dnstest"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// The symptom: servers with MaxConnectionAge behind a DNS name; an
// A record is added; the client must start using the new server after the
// next GOAWAY makes it resolve again. It used to resolve only when every
// address had failed: the new server never saw a call.
func TestDNSNewRecordUsedAfterGoAway(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 2, KeepaliveParams(ServerParameters{MaxConnectionAge: 300 * time.Millisecond, MaxConnectionAgeGrace: 5 * time.Second}))
	dns, err := dnstest.Start()
	require.NoError(t, err)
	defer dns.Close()
	dns.Set("svc.fleet.test", f.hosts[0])
	cc, err := NewClient("dns:///svc.fleet.test:"+f.port, WithInsecure(),
		WithResolvers(resolver.NewDNSBuilder(resolver.DNSOptions{Server: dns.Addr(), MinResolveInterval: 100 * time.Millisecond})))
	require.NoError(t, err)
	defer cc.Close()

	callUntil(t, cc, 5*time.Second, func() bool { return f.calls[0].Load() >= 10 })
	dns.Set("svc.fleet.test", f.hosts[0], f.hosts[1])
	// No refresh is configured: only the GOAWAY of MaxConnectionAge (300 ms)
	// can make the client look again.
	callUntil(t, cc, 5*time.Second, func() bool { return f.calls[1].Load() >= 10 })
}

// A connection that drops makes the client resolve again too.
func TestDNSResolvesAgainWhenAConnectionDrops(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 2)
	dns, err := dnstest.Start()
	require.NoError(t, err)
	defer dns.Close()
	dns.Set("svc.fleet.test", f.hosts[0])
	cc, err := NewClient("dns:///svc.fleet.test:"+f.port, WithInsecure(),
		WithResolvers(resolver.NewDNSBuilder(resolver.DNSOptions{Server: dns.Addr(), MinResolveInterval: 50 * time.Millisecond})))
	require.NoError(t, err)
	defer cc.Close()
	callUntil(t, cc, 5*time.Second, func() bool { return f.calls[0].Load() >= 1 })
	dns.Set("svc.fleet.test", f.hosts[1])
	f.srvs[0].Stop()
	callUntilNoFail(t, cc, 5*time.Second, func() bool { return f.calls[1].Load() >= 5 })
}

// callUntilNoFail is callUntil that tolerates UNAVAILABLE (a server went).
func callUntilNoFail(t *testing.T, cc *ClientConn, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not met within %v", limit)
		_, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x", WaitForReady(true))
		if err != nil {
			require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// Addresses the resolver drops are closed gracefully: a call running on one
// finishes; new calls go to the addresses left.
func TestManualResolverRemovesAddressGracefully(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 2)
	m := resolver.NewManual("fleet")
	m.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: f.addr(0)}, {Addr: f.addr(1)}}})
	cc, err := NewClient("fleet:///x", WithInsecure(), WithResolvers(m))
	require.NoError(t, err)
	defer cc.Close()
	callUntil(t, cc, 5*time.Second, func() bool { return f.calls[0].Load() >= 1 && f.calls[1].Load() >= 1 })

	// A slow call on each server, then server 0 leaves the resolver's list.
	served := f.calls[0].Load() + f.calls[1].Load()
	slow := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "sleep:300ms")
			slow <- err
		}()
	}
	// Both are in their servers' handlers first: one picked for server 0
	// but counted there only after the snapshot below would read as a call
	// sent to the removed address (a fixed pause lost that race under load).
	require.Eventually(t, func() bool { return f.calls[0].Load()+f.calls[1].Load() == served+2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, m.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: f.addr(1)}}}))
	require.Eventually(t, func() bool { return len(cc.GetSubConnStates()) == 1 }, 5*time.Second, time.Millisecond)
	before := f.counts()
	for range 10 {
		_, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
	}
	require.Equal(t, before[0], f.calls[0].Load(), "a call went to a removed address")
	for range 2 {
		require.NoError(t, <-slow, "a call in flight on a removed address failed")
	}
	require.Equal(t, f.addr(1), cc.GetSubConnStates()[0].Addr)
}

// A resolver error with no address known fails calls with UNAVAILABLE at
// once, naming the error; wait-for-ready calls wait for addresses.
func TestResolverErrorFailsFastUnlessWaitForReady(t *testing.T) {
	checkNoLeaks(t)
	f := startFleet(t, 1)
	m := resolver.NewManual("fleet")
	cc, err := NewClient("fleet:///x", WithInsecure(), WithResolvers(m))
	require.NoError(t, err)
	defer cc.Close()
	cc.Connect()
	m.ReportError(errors.New("registry unreachable"))
	require.Eventually(t, func() bool { return cc.GetState() == TransientFailure }, 5*time.Second, time.Millisecond)
	_, err = (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Contains(t, err.Error(), "registry unreachable")

	done := make(chan error, 1)
	go func() {
		_, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x", WaitForReady(true))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, m.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: f.addr(0)}}}))
	require.NoError(t, <-done)
}

func TestTargetErrors(t *testing.T) {
	for _, target := range []string{"", "dns:///", "unix:", "passthrough:///", "nope://x/y"} {
		_, err := NewClient(target, WithInsecure())
		require.Error(t, err, target)
	}
	_, err := NewClient("nope://x/y", WithInsecure())
	require.ErrorIs(t, err, resolver.ErrNoScheme)
}
