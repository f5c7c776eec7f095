package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Limiter decides whether a call may run now.
type Limiter interface {
	Allow(ctx context.Context, fullMethod string) bool
}

// Limit is a rate in calls per second with a burst.
type Limit struct {
	Rate  float64
	Burst int
}

type serverLimiter struct{ b *Bucket }

func (l serverLimiter) Allow(context.Context, string) bool { return l.b.Allow() }

// PerServer limits all calls together.
func PerServer(l Limit) (Limiter, error) {
	b, err := NewBucket(l.Rate, l.Burst)
	if err != nil {
		return nil, err
	}
	return serverLimiter{b}, nil
}

type methodLimiter struct {
	def       Limit
	unlimited bool
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*Bucket
}

// PerMethod gives each method its own bucket: the one in methods (by full
// name, "/pkg.Service/Method"), else def. A zero def leaves methods not
// listed unlimited. Buckets are made on first use; the runtime rejects
// unknown methods before interceptors run, so there is one per real method.
func PerMethod(def Limit, methods map[string]Limit) (Limiter, error) {
	return perMethod(def, methods, time.Now)
}

func perMethod(def Limit, methods map[string]Limit, now func() time.Time) (Limiter, error) {
	m := &methodLimiter{def: def, unlimited: def == (Limit{}), now: now, buckets: map[string]*Bucket{}}
	if !m.unlimited {
		if _, err := newBucket(def.Rate, def.Burst, now); err != nil {
			return nil, fmt.Errorf("default limit: %w", err)
		}
	}
	for name, l := range methods {
		b, err := newBucket(l.Rate, l.Burst, now)
		if err != nil {
			return nil, fmt.Errorf("limit of %s: %w", name, err)
		}
		m.buckets[name] = b
	}
	return m, nil
}

func (m *methodLimiter) Allow(_ context.Context, fullMethod string) bool {
	m.mu.Lock()
	b := m.buckets[fullMethod]
	if b == nil && !m.unlimited {
		b, _ = newBucket(m.def.Rate, m.def.Burst, m.now) // validated in PerMethod
		m.buckets[fullMethod] = b
	}
	m.mu.Unlock()
	return b == nil || b.Allow()
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
