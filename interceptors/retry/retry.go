package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Options configure retries; zero fields take the defaults.
type Options struct {
	// MaxAttempts counts the first call too (default 3).
	MaxAttempts int
	// Codes are the retryable status codes (default UNAVAILABLE only, the
	// code of a server that is down or overloaded).
	Codes []codes.Code
	// InitialBackoff (default 100ms) grows by Multiplier (default 2) per
	// retry up to MaxBackoff (default 5s).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
	// Jitter spreads each delay uniformly by ± that fraction (default 0.2)
	// so that clients that failed together do not retry together. A
	// negative value turns jitter off.
	Jitter float64
	// PerAttemptTimeout bounds each attempt (0: only the call's deadline).
	PerAttemptTimeout time.Duration
	// IdempotentMethods lists full method names safe to repeat; calls can
	// also be marked one by one with WithIdempotent.
	IdempotentMethods []string
}

type retrier struct {
	o          Options
	codes      map[codes.Code]bool
	idempotent map[string]bool
	rand       func() float64 // in [0, 1); replaced in tests
	sleep      func(ctx context.Context, d time.Duration) error
}

func newRetrier(o Options) (*retrier, error) {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.Codes == nil {
		o.Codes = []codes.Code{codes.Unavailable}
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.Multiplier == 0 {
		o.Multiplier = 2
	}
	if o.Jitter == 0 {
		o.Jitter = 0.2
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	switch {
	case o.MaxAttempts < 1:
		return nil, fmt.Errorf("retry: MaxAttempts %d must be at least 1", o.MaxAttempts)
	case o.InitialBackoff < 0 || o.MaxBackoff < o.InitialBackoff:
		return nil, fmt.Errorf("retry: backoff must satisfy 0 <= InitialBackoff (%v) <= MaxBackoff (%v)", o.InitialBackoff, o.MaxBackoff)
	case !(o.Multiplier >= 1) || math.IsInf(o.Multiplier, 0):
		return nil, fmt.Errorf("retry: Multiplier %v must be at least 1", o.Multiplier)
	case o.Jitter > 1 || math.IsNaN(o.Jitter):
		return nil, fmt.Errorf("retry: Jitter %v must be at most 1", o.Jitter)
	case o.PerAttemptTimeout < 0:
		return nil, fmt.Errorf("retry: PerAttemptTimeout %v is negative", o.PerAttemptTimeout)
	}
	r := &retrier{o: o, codes: map[codes.Code]bool{}, idempotent: map[string]bool{}, rand: rand.Float64, sleep: sleepCtx}
	for _, c := range o.Codes {
		if c == codes.OK {
			return nil, errors.New("retry: OK is not a failure to retry")
		}
		r.codes[c] = true
	}
	for _, m := range o.IdempotentMethods {
		r.idempotent[m] = true
	}
	return r, nil
}

type idempotentKey struct{}

// WithIdempotent marks the calls made with ctx as safe to repeat.
func WithIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func (r *retrier) isIdempotent(ctx context.Context, method string) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v || r.idempotent[method]
}

// backoff is the delay before retry n (1 for the first retry).
func (r *retrier) backoff(n int) time.Duration {
	d := float64(r.o.InitialBackoff) * math.Pow(r.o.Multiplier, float64(n-1))
	d = math.Min(d, float64(r.o.MaxBackoff))
	d *= 1 + r.o.Jitter*(2*r.rand()-1)
	return time.Duration(d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UnaryClientInterceptor retries unary calls as the options say. Place it
// outside logging and metrics so that each attempt is seen.
func UnaryClientInterceptor(o Options) (rpc.UnaryClientInterceptor, error) {
	r, err := newRetrier(o)
	if err != nil {
		return nil, err
	}
	return r.intercept, nil
}

func (r *retrier) intercept(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts ...rpc.CallOption) error {
	attempts := r.o.MaxAttempts
	if !r.isIdempotent(ctx, method) {
		attempts = 1
	}
	for n := 1; ; n++ {
		err, attemptTimedOut := r.attempt(ctx, method, req, reply, cc, invoker, opts)
		if err == nil || n >= attempts || ctx.Err() != nil || !(attemptTimedOut || r.codes[status.Code(err)]) {
			return err
		}
		d := r.backoff(n)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			// The next attempt could only start after the deadline: give
			// the caller the real failure now rather than DEADLINE_EXCEEDED later.
			return err
		}
		if r.sleep(ctx, d) != nil {
			return err
		}
	}
}

// attempt makes one call; timedOut says the attempt's own timeout (not
// the call's deadline) ended it, which is worth a retry whatever the code.
func (r *retrier) attempt(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts []rpc.CallOption) (err error, timedOut bool) {
	if r.o.PerAttemptTimeout <= 0 {
		return invoker(ctx, method, req, reply, cc, opts...), false
	}
	actx, cancel := context.WithTimeout(ctx, r.o.PerAttemptTimeout)
	defer cancel()
	err = invoker(actx, method, req, reply, cc, opts...)
	// The server, which got the attempt's deadline as grpc-timeout, may
	// answer DEADLINE_EXCEEDED a moment before the local timer fires.
	expired := actx.Err() != nil || status.Code(err) == codes.DeadlineExceeded
	return err, err != nil && expired && ctx.Err() == nil
}
