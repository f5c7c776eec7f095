package retry

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// flaky fails the first `fail` calls with code, then succeeds; a call
// whose payload is "slow" on its first attempt waits for cancellation.
type flaky struct {
	testsrv.Service
	fail  int32
	code  codes.Code
	calls atomic.Int32
}

func (f *flaky) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	n := f.calls.Add(1)
	if string(in.GetPayload().GetBody()) == "slow" && n == 1 {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if n <= f.fail {
		return nil, status.Errorf(f.code, "failure %d", n)
	}
	return &testpb.SimpleResponse{}, nil
}

// start returns a client whose retries sleep for real, or record the
// delays and skip the sleep when delays is not nil.
func start(t *testing.T, svc *flaky, o Options, delays *[]time.Duration) testpb.TestServiceClient {
	t.Helper()
	r, err := newRetrier(o)
	require.NoError(t, err)
	r.rand = func() float64 { return 0.5 } // no jitter: exact delays
	if delays != nil {
		r.sleep = func(_ context.Context, d time.Duration) error {
			*delays = append(*delays, d)
			return nil
		}
	}
	return testsrv.Start(t, svc, nil, rpc.WithUnaryInterceptor(r.intercept))
}

func idem() context.Context { return WithIdempotent(context.Background()) }

func TestRetriesUntilSuccess(t *testing.T) {
	svc := &flaky{fail: 2, code: codes.Unavailable}
	var delays []time.Duration
	c := start(t, svc, Options{}, &delays)
	_, err := c.UnaryCall(idem(), &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.Equal(t, int32(3), svc.calls.Load())
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, delays)
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	svc := &flaky{fail: 100, code: codes.Unavailable}
	var delays []time.Duration
	c := start(t, svc, Options{MaxAttempts: 4, InitialBackoff: time.Second, MaxBackoff: 3 * time.Second, Multiplier: 2}, &delays)
	_, err := c.UnaryCall(idem(), &testpb.SimpleRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, "failure 4", status.Convert(err).Message(), "the last attempt's error")
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, delays, "capped at MaxBackoff")
}

func TestNotIdempotentNotRetried(t *testing.T) {
	svc := &flaky{fail: 1, code: codes.Unavailable}
	c := start(t, svc, Options{}, new([]time.Duration))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, int32(1), svc.calls.Load())
}

func TestIdempotentMethodsOption(t *testing.T) {
	svc := &flaky{fail: 1, code: codes.Unavailable}
	c := start(t, svc, Options{IdempotentMethods: []string{testpb.TestService_UnaryCall_FullMethodName}}, new([]time.Duration))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.Equal(t, int32(2), svc.calls.Load())
}

func TestOnlyChosenCodes(t *testing.T) {
	svc := &flaky{fail: 1, code: codes.Internal}
	c := start(t, svc, Options{}, new([]time.Duration))
	_, err := c.UnaryCall(idem(), &testpb.SimpleRequest{})
	require.Equal(t, codes.Internal, status.Code(err))
	require.Equal(t, int32(1), svc.calls.Load())

	svc = &flaky{fail: 1, code: codes.ResourceExhausted}
	c = start(t, svc, Options{Codes: []codes.Code{codes.ResourceExhausted, codes.Aborted}}, new([]time.Duration))
	_, err = c.UnaryCall(idem(), &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.Equal(t, int32(2), svc.calls.Load())
}

func TestDeadlineTooCloseForAnotherAttempt(t *testing.T) {
	svc := &flaky{fail: 100, code: codes.Unavailable}
	var delays []time.Duration
	c := start(t, svc, Options{InitialBackoff: time.Minute, MaxBackoff: time.Minute}, &delays)
	ctx, cancel := context.WithTimeout(idem(), 30*time.Second)
	defer cancel()
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err), "the real failure, not DEADLINE_EXCEEDED later")
	require.Empty(t, delays, "no sleeping when the deadline comes before the next attempt")
	require.Equal(t, int32(1), svc.calls.Load())

	_, err = c.UnaryCall(idem(), &testpb.SimpleRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Len(t, delays, 2, "without a deadline the backoff is taken")
}

func TestCancelDuringBackoff(t *testing.T) {
	svc := &flaky{fail: 100, code: codes.Unavailable}
	r, err := newRetrier(Options{InitialBackoff: time.Hour, MaxBackoff: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(idem())
	// Cancel once the backoff has begun; the real sleep must end at once.
	r.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, d)
	}
	c := testsrv.Start(t, svc, nil, rpc.WithUnaryInterceptor(r.intercept))
	start := time.Now()
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err), "the real failure, not CANCELLED")
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, int32(1), svc.calls.Load())
}

func TestPerAttemptTimeout(t *testing.T) {
	svc := &flaky{}
	c := start(t, svc, Options{PerAttemptTimeout: 500 * time.Millisecond}, new([]time.Duration))
	_, err := c.UnaryCall(idem(), &testpb.SimpleRequest{Payload: testsrv.Body("slow")})
	require.NoError(t, err, "the slow first attempt timed out and the second succeeded")
	require.Equal(t, int32(2), svc.calls.Load())

	// Without idempotency the timed-out attempt is final.
	svc = &flaky{}
	c = start(t, svc, Options{PerAttemptTimeout: 500 * time.Millisecond}, new([]time.Duration))
	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("slow")})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
}

func TestJitterBounds(t *testing.T) {
	r, err := newRetrier(Options{InitialBackoff: time.Second, MaxBackoff: time.Second, Jitter: 0.25})
	require.NoError(t, err)
	r.rand = func() float64 { return 0 }
	require.Equal(t, 750*time.Millisecond, r.backoff(1))
	r.rand = func() float64 { return 0.999999 }
	require.InDelta(t, float64(1250*time.Millisecond), float64(r.backoff(1)), float64(time.Millisecond))
	r, err = newRetrier(Options{InitialBackoff: time.Second, MaxBackoff: time.Second, Jitter: -1})
	require.NoError(t, err)
	r.rand = func() float64 { return 0 }
	require.Equal(t, time.Second, r.backoff(5), "negative jitter turns it off")
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{MaxAttempts: -1},
		{InitialBackoff: -time.Second},
		{InitialBackoff: time.Second, MaxBackoff: time.Millisecond},
		{Multiplier: 0.5},
		{Jitter: 1.5},
		{PerAttemptTimeout: -1},
		{Codes: []codes.Code{codes.OK}},
	} {
		_, err := UnaryClientInterceptor(o)
		require.Error(t, err, "%+v", o)
	}
	i, err := UnaryClientInterceptor(Options{})
	require.NoError(t, err)
	require.NotNil(t, i)
}
