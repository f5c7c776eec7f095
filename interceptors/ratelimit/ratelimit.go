package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"golang.org/x/time/rate"
)

// Limiter decides whether a call may run now.
type Limiter interface {
	Allow(ctx context.Context, fullMethod string) bool
}

// Limit is a rate in calls per second with a burst: a token bucket that
// holds up to Burst tokens, refills at Rate tokens per second, and each
// call takes one (golang.org/x/time/rate does the arithmetic).
type Limit struct {
	Rate  float64
	Burst int
}

// check refuses limits that would refuse every call or none: rate must be
// positive and finite, burst at least 1 (a bucket smaller than one token
// refuses everything).
func (l Limit) check() error {
	if !(l.Rate > 0) || math.IsInf(l.Rate, 0) {
		return fmt.Errorf("ratelimit: rate %v must be a positive number of calls per second", l.Rate)
	}
	if l.Burst < 1 {
		return fmt.Errorf("ratelimit: burst %d must be at least 1", l.Burst)
	}
	return nil
}

func (l Limit) limiter() *rate.Limiter { return rate.NewLimiter(rate.Limit(l.Rate), l.Burst) }

// shared admits calls while one rate.Limiter has tokens.
type shared struct {
	l   *rate.Limiter
	now func() time.Time
}

func (s shared) Allow(context.Context, string) bool { return s.l.AllowN(s.now(), 1) }

// PerServer limits all calls together.
func PerServer(l Limit) (Limiter, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	return shared{l.limiter(), time.Now}, nil
}

// Shared limits all calls together with l, which the application keeps: to
// share it with other work, or to change it while serving (SetLimit,
// SetBurst).
func Shared(l *rate.Limiter) Limiter { return shared{l, time.Now} }

type methodLimiter struct {
	def       Limit
	unlimited bool
	now       func() time.Time
	mu        sync.Mutex
	limiters  map[string]*rate.Limiter
}

// PerMethod gives each method its own bucket: the one in methods (by full
// name, "/pkg.Service/Method"), else def. A zero def leaves methods not
// listed unlimited. Buckets are made on first use; the runtime rejects
// unknown methods before interceptors run, so there is one per real method.
func PerMethod(def Limit, methods map[string]Limit) (Limiter, error) {
	return perMethod(def, methods, time.Now)
}

func perMethod(def Limit, methods map[string]Limit, now func() time.Time) (Limiter, error) {
	m := &methodLimiter{def: def, unlimited: def == (Limit{}), now: now, limiters: map[string]*rate.Limiter{}}
	if !m.unlimited {
		if err := def.check(); err != nil {
			return nil, fmt.Errorf("default limit: %w", err)
		}
	}
	for name, l := range methods {
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("limit of %s: %w", name, err)
		}
		m.limiters[name] = l.limiter()
	}
	return m, nil
}

func (m *methodLimiter) Allow(_ context.Context, fullMethod string) bool {
	m.mu.Lock()
	l := m.limiters[fullMethod]
	if l == nil && !m.unlimited {
		l = m.def.limiter()
		m.limiters[fullMethod] = l
	}
	m.mu.Unlock()
	return l == nil || l.AllowN(m.now(), 1)
}

func exhausted(method string) error {
	return status.Errorf(codes.ResourceExhausted, "rate limit exceeded for %s", method)
}

// UnaryServerInterceptor rejects unary calls over the limit.
func UnaryServerInterceptor(l Limiter) rpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		if !l.Allow(ctx, info.FullMethod) {
			return nil, exhausted(info.FullMethod)
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor rejects new streams over the limit; a stream
// counts once, however many messages it carries.
func StreamServerInterceptor(l Limiter) rpc.StreamServerInterceptor {
	return func(srv any, ss rpc.ServerStream, info *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		if !l.Allow(ss.Context(), info.FullMethod) {
			return exhausted(info.FullMethod)
		}
		return handler(srv, ss)
	}
}
