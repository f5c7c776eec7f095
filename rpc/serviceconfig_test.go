package rpc

import (
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func TestParseServiceConfig(t *testing.T) {
	sc, err := parseServiceConfig(`{
		"loadBalancingConfig": [{"least_request": {"choiceCount": 3}}],
		"methodConfig": [
			{"name": [{"service": "pkg.Svc", "method": "Get"}], "timeout": "1.5s", "waitForReady": true,
			 "maxRequestMessageBytes": 1024, "maxResponseMessageBytes": 2048,
			 "retryPolicy": {"maxAttempts": 9, "initialBackoff": "0.1s", "maxBackoff": "1s",
			                 "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE", 4, "resource_exhausted"]}},
			{"name": [{"service": "pkg.Svc"}], "timeout": "2s"},
			{"name": [{}], "timeout": "3s"}
		],
		"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.12345}
	}`)
	require.NoError(t, err)
	require.Equal(t, balancer.LeastRequest, sc.lbName)
	require.Equal(t, &balancer.LeastRequestConfig{ChoiceCount: 3}, sc.lbConfig)

	get := sc.methodConfig("/pkg.Svc/Get")
	require.Equal(t, 1500*time.Millisecond, get.timeout)
	require.True(t, *get.waitForReady)
	require.Equal(t, 1024, *get.maxReq)
	require.Equal(t, 2048, *get.maxResp)
	p := get.retry
	require.Equal(t, 5, p.maxAttempts, "maxAttempts is capped at 5")
	require.Equal(t, 100*time.Millisecond, p.initialBackoff)
	require.Equal(t, time.Second, p.maxBackoff)
	require.True(t, p.retries(codes.Unavailable))
	require.True(t, p.retries(codes.DeadlineExceeded))
	require.True(t, p.retries(codes.ResourceExhausted))
	require.False(t, p.retries(codes.Internal))
	require.Equal(t, 2*time.Second, sc.methodConfig("/pkg.Svc/Put").timeout, "the service's entry")
	require.Equal(t, 3*time.Second, sc.methodConfig("/other.Svc/Put").timeout, "the default entry")
	require.Equal(t, 0.123, sc.throttle.cfg.tokenRatio, "three decimals of tokenRatio")

	require.Nil(t, (*serviceConfig)(nil).methodConfig("/a/b"))
	sc, err = parseServiceConfig(`{"loadBalancingPolicy": "pick_first"}`)
	require.NoError(t, err)
	require.Equal(t, balancer.PickFirst, sc.lbName)
	sc, err = parseServiceConfig(`{}`)
	require.NoError(t, err)
	require.Equal(t, balancer.RoundRobin, sc.lbName)
}

func TestParseServiceConfigErrors(t *testing.T) {
	retry := func(p string) string {
		return `{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": ` + p + `}]}`
	}
	for _, js := range []string{
		`not json`,
		`{"loadBalancingPolicy": "nope"}`,
		`{"loadBalancingConfig": [{"nope": {}}]}`,
		`{"loadBalancingConfig": [{"least_request": {"choiceCount": 1}}]}`,
		`{"methodConfig": [{"timeout": "1s"}]}`,
		`{"methodConfig": [{"name": [{"method": "m"}]}]}`,
		`{"methodConfig": [{"name": [{"service": "s"}]}, {"name": [{"service": "s"}]}]}`,
		`{"methodConfig": [{"name": [{"service": "s"}], "timeout": "1m"}]}`,
		`{"methodConfig": [{"name": [{"service": "s"}], "maxRequestMessageBytes": -1}]}`,
		retry(`{"maxAttempts": 1, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}`),
		retry(`{"maxAttempts": 2, "initialBackoff": "0s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}`),
		retry(`{"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 0, "retryableStatusCodes": ["UNAVAILABLE"]}`),
		retry(`{"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": []}`),
		retry(`{"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["OK"]}`),
		retry(`{"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["NOPE"]}`),
		`{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}`,
		`{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0}}`,
	} {
		_, err := parseServiceConfig(js)
		require.ErrorIs(t, err, ErrServiceConfig, js)
	}
	_, err := NewClient("localhost:1", WithInsecure(), WithDefaultServiceConfig(`{"loadBalancingPolicy": "nope"}`))
	require.ErrorIs(t, err, ErrServiceConfig)
}

func TestRetryBackoffAndThrottle(t *testing.T) {
	sc, err := parseServiceConfig(`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 4,
		"initialBackoff": "1s", "maxBackoff": "3s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}],
		"retryThrottling": {"maxTokens": 6, "tokenRatio": 1}}`)
	require.NoError(t, err)
	mc := sc.methodConfig("/a/b")
	unavailable := statusErr(codes.Unavailable)
	var rs retryState
	for _, limit := range []time.Duration{time.Second, 2 * time.Second} {
		d, ok := rs.next(sc, mc, unavailable, false, "", false)
		require.True(t, ok)
		require.Less(t, d, limit)
	}
	// Three failures took the tokens to 3 of 6: no more retries until calls succeed.
	_, ok := rs.next(sc, mc, unavailable, false, "", false)
	require.False(t, ok, "throttled")
	sc.throttle.succeeded()
	sc.throttle.succeeded()
	sc.throttle.succeeded()
	d, ok := rs.next(sc, mc, unavailable, false, "250", true)
	require.True(t, ok)
	require.Equal(t, 250*time.Millisecond, d, "the server's pushback")
	_, ok = rs.next(sc, mc, unavailable, false, "", false)
	require.False(t, ok, "maxAttempts reached")

	rs = retryState{}
	sc.throttle.tokens = 6
	_, ok = rs.next(sc, mc, statusErr(codes.Internal), false, "", false)
	require.False(t, ok, "not a retryable code")
	_, ok = rs.next(sc, mc, unavailable, true, "", false)
	require.False(t, ok, "committed")
	_, ok = rs.next(sc, mc, unavailable, false, "-1", true)
	require.False(t, ok, "a negative pushback says no")
	_, ok = rs.next(sc, mc, unavailable, false, "soon", true)
	require.False(t, ok, "a malformed pushback says no")
}

func statusErr(c codes.Code) error { return status.Error(c, "test") }
