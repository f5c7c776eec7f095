package rpc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// hedgeConfig sends a second copy 50 ms after the first, and no third: the
// second copy's answer may take longer than 50 ms on a loaded machine, and a
// third copy then would change the count the test expects.
const hedgeConfig = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "hedgingPolicy": {
	"maxAttempts": 2, "hedgingDelay": "0.05s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}`

// hedgeServer answers each call according to its order: first[i] for the
// i-th call ("slow": until canceled; a code: that error), "ok" afterwards.
type hedgeServer struct {
	first    []string
	calls    atomic.Int64
	canceled atomic.Int64
}

func (h *hedgeServer) unary(ctx context.Context, req any, _ *UnaryServerInfo, next UnaryHandler) (any, error) {
	n := int(h.calls.Add(1)) - 1
	if n >= len(h.first) {
		return next(ctx, req)
	}
	switch h.first[n] {
	case "slow":
		<-ctx.Done()
		h.canceled.Add(1)
		return nil, ctx.Err()
	case "unavailable":
		return nil, status.Error(codes.Unavailable, "try another")
	default:
		return nil, status.Error(codes.InvalidArgument, "bad request")
	}
}

func TestHedgingSendsACopyAfterTheDelay(t *testing.T) {
	checkNoLeaks(t)
	h := &hedgeServer{first: []string{"slow"}}
	e := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(h.unary)}, WithDefaultServiceConfig(hedgeConfig))
	start := time.Now()
	got, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, "x", got)
	require.Less(t, time.Since(start), 4*time.Second, "the slow first attempt was waited for")
	require.EqualValues(t, 2, h.calls.Load())
	require.Eventually(t, func() bool { return h.canceled.Load() == 1 }, 5*time.Second, time.Millisecond, "the losing attempt was not canceled")
}

func TestHedgingNonFatalCodeSendsAtOnceFatalStops(t *testing.T) {
	checkNoLeaks(t)
	// A 10 s hedging delay: every copy here goes because of the code the
	// one before it got, never because an answer took longer than the delay
	// (with 50 ms, a slow first answer on a loaded machine let a second copy
	// go, and its OK or its count failed the fatal-code check).
	slowHedge := WithDefaultServiceConfig(`{"methodConfig": [{"name": [{"service": "test.Echo"}], "hedgingPolicy": {
		"maxAttempts": 3, "hedgingDelay": "10s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}`)
	h := &hedgeServer{first: []string{"unavailable", "unavailable"}}
	e := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(h.unary)}, slowHedge)
	got, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err, "UNAVAILABLE is non-fatal: the next copy goes at once, not after 10 s")
	require.Equal(t, "x", got)
	require.EqualValues(t, 3, h.calls.Load())

	h2 := &hedgeServer{first: []string{"invalid"}}
	e2 := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(h2.unary)}, slowHedge)
	_, err = e2.echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.EqualValues(t, 1, h2.calls.Load(), "a fatal code ends the call")

	h3 := &hedgeServer{first: []string{"unavailable", "unavailable", "unavailable"}}
	e3 := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(h3.unary)}, slowHedge)
	_, err = e3.echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.EqualValues(t, 3, h3.calls.Load(), "maxAttempts copies at most")
}

func TestHedgingPolicyParse(t *testing.T) {
	sc, err := parseServiceConfig(hedgeConfig)
	require.NoError(t, err)
	p := sc.methodConfig("/test.Echo/Echo").hedge
	require.Equal(t, 2, p.maxAttempts)
	require.Equal(t, 50*time.Millisecond, p.delay)
	require.True(t, p.isNonFatal(codes.Unavailable))
	for _, bad := range []string{
		`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 1}}]}`,
		`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "x"}}]}`,
		`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2},
			"retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`,
	} {
		_, err := parseServiceConfig(bad)
		require.ErrorIs(t, err, ErrServiceConfig, bad)
	}
}
