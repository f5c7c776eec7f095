package rpc

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func TestGracefulShutdownLosesNothing(t *testing.T) {
	checkNoLeaks(t)
	var started sync.WaitGroup
	started.Add(10)
	e := newEnv(t, true, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		started.Done()
		return h(ctx, req)
	})})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.echo(ctxTimeout(t, 10*time.Second), "sleep:300ms")
			errs <- err
		}()
	}
	started.Wait()
	require.NoError(t, e.srv.Shutdown(ctxTimeout(t, 10*time.Second)))
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "an RPC in flight was lost during graceful shutdown")
	}
	// New calls are refused cleanly.
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "late")
	require.Equal(t, codes.Unavailable, status.Code(err), err)
}

func TestShutdownForcesAtDeadline(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := e.echo(ctxTimeout(t, 10*time.Second), "block")
		errc <- err
	}()
	<-e.impl.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.srv.Shutdown(ctx), context.DeadlineExceeded)
	err := <-errc
	require.Equal(t, codes.Unavailable, status.Code(err), err)
}

func TestReconnectAfterServerRestart(t *testing.T) {
	checkNoLeaks(t)
	e := newEnvAt(t, quietAddr(t), nil) // still free when the server comes back
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "one")
	require.NoError(t, err)
	e.srv.Stop()

	// Without wait-for-ready a call fails fast while the server is down.
	time.Sleep(50 * time.Millisecond)
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "down")
	require.Equal(t, codes.Unavailable, status.Code(err), err)

	srv2 := NewServer()
	srv2.RegisterService(&echoDesc, e.impl)
	var l net.Listener
	require.Eventually(t, func() bool {
		l, err = net.Listen("tcp", e.addr)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	go func() { _ = srv2.Serve(l) }()
	defer srv2.Stop()
	// With wait-for-ready the call waits for the reconnection (backoff ~1s).
	got, err := e.echo(ctxTimeout(t, 10*time.Second), "two", WaitForReady(true))
	require.NoError(t, err)
	require.Equal(t, "two", got)
}

func TestWaitForReadyTimesOut(t *testing.T) {
	checkNoLeaks(t)
	cc, err := NewClient(quietAddr(t), WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = cc.Invoke(ctx, "/test.Echo/Echo", nil, nil, WaitForReady(true))
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), err)
	err = cc.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Echo", nil, nil)
	require.Equal(t, codes.Unavailable, status.Code(err), err)
}

func TestRoundRobin(t *testing.T) {
	checkNoLeaks(t)
	var counts [3]atomic.Int32
	var addrs []string
	for i := range counts {
		srv := NewServer(UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			counts[i].Add(1)
			return h(ctx, req)
		}))
		srv.RegisterService(&echoDesc, &echoImpl{})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs = append(addrs, l.Addr().String())
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(srv.Stop)
	}
	for _, target := range []string{addrs[0] + "," + addrs[1] + "," + addrs[2]} {
		cc, err := NewClient(target, WithInsecure())
		require.NoError(t, err)
		cc.Connect()
		// Calls go round-robin over the connections that are ready: wait for
		// all three, or the first one ready takes the first calls.
		require.Eventually(t, func() bool {
			cc.mu.Lock()
			defer cc.mu.Unlock()
			ready := 0
			for _, sc := range cc.subs {
				if sc.state == subReady {
					ready++
				}
			}
			return ready == len(addrs)
		}, 10*time.Second, time.Millisecond)
		e := &env{cc: cc}
		for i := 0; i < 90; i++ {
			_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
			require.NoError(t, err)
		}
		cc.Close()
	}
	for i := range counts {
		require.Greater(t, counts[i].Load(), int32(10), "server %d got %d of 90 calls", i, counts[i].Load())
	}
}

func TestDNSTargetResolvesSeveral(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	_, port, _ := net.SplitHostPort(e.addr)
	cc, err := NewClient("dns:///localhost:"+port, WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	got, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "via dns", WaitForReady(true))
	require.NoError(t, err)
	require.Equal(t, "via dns", got)
	_, err = NewClient("dns:///", WithInsecure()) // no host (a host without a port gets 443: TestTargetWithoutPortUses443)
	require.Error(t, err)
	_, err = NewClient("weird://x", WithInsecure())
	require.Error(t, err)
	_, err = NewClient("", WithInsecure())
	require.Error(t, err)
}

func TestTransparentRetryOnConnectionAge(t *testing.T) {
	checkNoLeaks(t)
	// Connections are told to go away every ~50ms; calls keep flowing
	// without a single failure, on fresh connections: for 600 ms (a dozen
	// connection ages) and at least a dozen calls, however slow the machine
	// makes each one (a count of calls within the time was a speed test).
	e := newEnv(t, true, []ServerOption{KeepaliveParams(ServerParameters{MaxConnectionAge: 50 * time.Millisecond, MaxConnectionAgeGrace: time.Second})})
	deadline := time.Now().Add(600 * time.Millisecond)
	for n := 0; n < 12 || time.Now().Before(deadline); n++ {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err, "call %d", n)
	}
}

func TestKeepaliveEnforcement(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, []ServerOption{KeepaliveEnforcementPolicy(EnforcementPolicy{MinTime: time.Second})},
		WithKeepaliveParams(ClientParameters{Time: 10 * time.Millisecond, Timeout: time.Second}))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "sleep:2s")
	require.Equal(t, codes.Unavailable, status.Code(err), err)
	require.Eventually(t, func() bool { return e.cc.kaTime.Load() == int64(20*time.Millisecond) }, time.Second, 5*time.Millisecond,
		"the client must double its keepalive interval after too_many_pings")

	// The GOAWAY carries ENHANCE_YOUR_CALM and "too_many_pings".
	type goAway struct {
		code  h2.ErrCode
		debug string
	}
	got := make(chan goAway, 1)
	opts := &h2.ClientOptions{}
	opts.Hooks.OnGoAway = func(_ *h2.Session, code h2.ErrCode, _ uint32, debug []byte) {
		select {
		case got <- goAway{code, string(debug)}:
		default:
		}
	}
	sess, err := h2.Dial(ctxTimeout(t, 5*time.Second), e.addr, opts)
	require.NoError(t, err)
	defer sess.Close()
	for i := 0; i < 5; i++ {
		if _, err := sess.Ping(ctxTimeout(t, time.Second), [8]byte{byte(i)}); err != nil {
			break
		}
	}
	select {
	case g := <-got:
		require.Equal(t, h2.ErrCodeEnhanceYourCalm, g.code)
		require.Equal(t, "too_many_pings", g.debug)
	case <-time.After(3 * time.Second):
		t.Fatal("no GOAWAY for too many pings")
	}

	// A client within the policy is left alone.
	e2 := newEnv(t, true, []ServerOption{KeepaliveEnforcementPolicy(EnforcementPolicy{MinTime: time.Millisecond})},
		WithKeepaliveParams(ClientParameters{Time: 10 * time.Millisecond, Timeout: time.Second}))
	_, err = e2.echo(ctxTimeout(t, 5*time.Second), "sleep:200ms")
	require.NoError(t, err)
}

func TestMaxConnectionIdle(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, []ServerOption{KeepaliveParams(ServerParameters{MaxConnectionIdle: 50 * time.Millisecond})})
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		e.cc.mu.Lock()
		defer e.cc.mu.Unlock()
		return len(e.cc.subs) == 1 && e.cc.subs[0].state == subIdle
	}, 3*time.Second, 10*time.Millisecond, "idle connection was not closed by the server")
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "again")
	require.NoError(t, err, "the client reconnects after an idle close")
}

func TestClientCloseFailsCalls(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := e.echo(ctxTimeout(t, 10*time.Second), "block")
		errc <- err
	}()
	<-e.impl.started
	require.NoError(t, e.cc.Close())
	err := <-errc
	require.Contains(t, []codes.Code{codes.Canceled, codes.Unavailable}, status.Code(err), err)
	_, err = e.echo(ctxTimeout(t, time.Second), "after")
	require.Equal(t, codes.Canceled, status.Code(err))
	require.NoError(t, e.cc.Close(), "Close twice is fine")
}

func TestBackoffParameters(t *testing.T) {
	cc, err := NewClient("127.0.0.1:1", WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	for n, want := range map[int]time.Duration{1: time.Second, 2: 1600 * time.Millisecond, 3: 2560 * time.Millisecond, 30: 120 * time.Second} {
		for i := 0; i < 50; i++ {
			d := cc.backoffDelay(n)
			require.GreaterOrEqual(t, d, time.Duration(float64(want)*0.8), n)
			require.LessOrEqual(t, d, time.Duration(float64(want)*1.2), n)
		}
	}
	_ = metadata.MD{}
}

func TestServerKeepaliveDropsSilentClient(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, []ServerOption{KeepaliveParams(ServerParameters{Time: 50 * time.Millisecond, Timeout: 100 * time.Millisecond})})
	// A client that says hello (preface, empty SETTINGS) and then goes silent:
	// it never acknowledges anything, so only the server's ping notices.
	c, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(append([]byte(h2.ClientPreface), 0, 0, 0, 4, 0, 0, 0, 0, 0))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.Copy(io.Discard, c)
	require.NoError(t, err, "the server should close the connection, not leave us to time out")
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestUnixSocketTarget(t *testing.T) {
	checkNoLeaks(t)
	path := t.TempDir() + "/rpc.sock"
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	for _, target := range []string{"unix://" + path, "unix:" + path} {
		cc, err := NewClient(target, WithInsecure())
		require.NoError(t, err)
		got, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "over unix")
		require.NoError(t, err, target)
		require.Equal(t, "over unix", got)
		cc.Close()
	}
	_, err = NewClient("unix:", WithInsecure())
	require.Error(t, err)
}

func TestConnectivityState(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	require.Equal(t, Idle, e.cc.GetState(), "NewClient must not connect")
	e.cc.Connect()
	ctx := ctxTimeout(t, 5*time.Second)
	for s := e.cc.GetState(); s != Ready; s = e.cc.GetState() {
		require.True(t, e.cc.WaitForStateChange(ctx, s), "stuck in %v", s)
	}
	e.srv.Stop()
	require.True(t, e.cc.WaitForStateChange(ctx, Ready))
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	// With the server gone the state settles away from READY; waiting on it times out.
	s := e.cc.GetState()
	require.NotEqual(t, Ready, s)
	for e.cc.WaitForStateChange(short, s) {
		s = e.cc.GetState()
		require.NotEqual(t, Ready, s)
	}
	require.NoError(t, e.cc.Close())
	require.Equal(t, Shutdown, e.cc.GetState())
	require.Equal(t, "TRANSIENT_FAILURE", TransientFailure.String())
	require.Equal(t, "INVALID_STATE", ConnectivityState(42).String())
}

func TestClientRequiresAChoiceOfTransportSecurity(t *testing.T) {
	_, err := NewClient("localhost:50051")
	require.ErrorIs(t, err, errNoSecurity)
	require.ErrorContains(t, err, "rpc.WithTLS")
	require.ErrorContains(t, err, "rpc.WithInsecure()")

	// The last choice wins, so a helper's default can be overridden.
	cc, err := NewClient("localhost:50051", WithInsecure(), WithTLS(nil))
	require.NoError(t, err)
	require.NotNil(t, cc.cfg.tlsConfig)
	require.NoError(t, cc.Close())
	cc, err = NewClient("localhost:50051", WithTLS(nil), WithInsecure())
	require.NoError(t, err)
	require.Nil(t, cc.cfg.tlsConfig)
	require.NoError(t, cc.Close())
}
