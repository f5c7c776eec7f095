package rpc

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Retries configured by the service config (gRFC A6). They share the
// transparent retries' machinery: a unary call is sent again by invoke, a
// streaming call replays the messages streamRetry keeps until the response
// headers arrive (within maxReplayBytes, the per-call buffer limit). An
// attempt is retried when its status code is in the method's
// retryableStatusCodes and the call is not committed: no response headers
// came (a trailers-only response, or a failure before any header), the
// server did not refuse with a malformed or negative grpc-retry-pushback-ms,
// retryThrottling has tokens left, maxAttempts is not reached and the
// call's deadline has not passed. The delay is random(0, min(initialBackoff *
// backoffMultiplier^(n-1), maxBackoff)), or the server's pushback.

// applyTo sets the call's defaults from the method's config: call options
// given to the call or the client override them.
func (mc *methodConfig) applyTo(ci *callInfo) {
	if mc == nil {
		return
	}
	if mc.waitForReady != nil {
		ci.waitForReady = *mc.waitForReady
	}
	if mc.maxReq != nil {
		ci.maxSend = *mc.maxReq
	}
	if mc.maxResp != nil {
		ci.maxRecv = *mc.maxResp
	}
}

// withTimeout bounds ctx by the method's configured timeout, if any.
func (mc *methodConfig) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if mc == nil || mc.timeout <= 0 {
		return ctx, nil
	}
	return context.WithTimeout(ctx, mc.timeout)
}

// throttle is retryThrottling's token bucket, shared by every call while
// the service config that made it is in force.
type throttle struct {
	mu     sync.Mutex
	tokens float64
	cfg    throttleConfig
}

func newThrottle(c *throttleConfig) *throttle {
	if c == nil {
		return nil
	}
	return &throttle{tokens: c.maxTokens, cfg: *c}
}

// failed counts a retryable failure and reports whether a retry may follow:
// only while more than half the tokens are left.
func (t *throttle) failed() bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens = max(t.tokens-1, 0)
	return t.tokens > t.cfg.maxTokens/2
}

// succeeded counts a call that ended OK.
func (t *throttle) succeeded() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens = min(t.tokens+t.cfg.tokenRatio, t.cfg.maxTokens)
}

// retryState is one call's progress through its retry policy.
type retryState struct {
	attempts int // attempts made under the policy, the first included
	backoffN int // exponent of the next backoff; a pushback resets it
}

// next decides whether an attempt that failed with err is retried, and
// after how long. committed is true once response headers arrived;
// pushback is the attempt's grpc-retry-pushback-ms, if it had one.
func (rs *retryState) next(sc *serviceConfig, mc *methodConfig, err error, committed bool, pushback string, hasPushback bool) (time.Duration, bool) {
	if mc == nil || mc.retry == nil || committed {
		return 0, false
	}
	p := mc.retry
	if !p.retries(status.Code(err)) {
		return 0, false
	}
	if !sc.throttle.failed() {
		return 0, false
	}
	if rs.attempts == 0 {
		rs.attempts = 1
	}
	if rs.attempts >= p.maxAttempts {
		return 0, false
	}
	rs.attempts++
	if hasPushback {
		ms, perr := strconv.ParseInt(pushback, 10, 32)
		if perr != nil || ms < 0 {
			return 0, false // the server says: do not retry
		}
		rs.backoffN = 0
		return time.Duration(ms) * time.Millisecond, true
	}
	limit := min(float64(p.initialBackoff)*math.Pow(p.multiplier, float64(rs.backoffN)), float64(p.maxBackoff))
	rs.backoffN++
	return time.Duration(rand.Float64() * limit), true
}

// pushbackOf returns an attempt's grpc-retry-pushback-ms, from its
// trailers or its trailers-only response (h, or the stream's response
// headers when h is nil: taken without waiting).
func pushbackOf(st *h2.Stream, h h2.Header) (string, bool) {
	if h == nil {
		h, _ = st.Response(noWait)
	}
	for _, hdr := range []h2.Header{h, st.Trailers()} {
		for _, f := range hdr {
			if f.Name == "grpc-retry-pushback-ms" {
				return f.Value, true
			}
		}
	}
	return "", false
}

// noWait is a context that has ended: h2's waits return at once with it.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// sleepCtx waits d, or reports false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryWaitEnded is the error of a call whose context ended while it
// waited to retry: the context's reason, and the attempt that failed.
func retryWaitEnded(ctx context.Context, err error) error {
	s := status.FromContextError(ctx.Err())
	return status.Errorf(s.Code(), "%s while waiting to retry; last attempt: %v", s.Message(), err)
}
