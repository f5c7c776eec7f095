package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket: it holds up to Burst tokens, refills at Rate
// tokens per second, and each call takes one.
type Bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewBucket returns a full bucket. rate must be positive and finite, burst
// at least 1 (a bucket smaller than one token would refuse every call).
func NewBucket(rate float64, burst int) (*Bucket, error) {
	return newBucket(rate, burst, time.Now)
}

func newBucket(rate float64, burst int, now func() time.Time) (*Bucket, error) {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return nil, fmt.Errorf("ratelimit: rate %v must be a positive number of calls per second", rate)
	}
	if burst < 1 {
		return nil, fmt.Errorf("ratelimit: burst %d must be at least 1", burst)
	}
	return &Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}, nil
}

// Allow takes a token if there is one.
func (b *Bucket) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Seconds()*b.rate)
	}
	// A clock that steps back must not mint tokens later: keep the latest.
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
