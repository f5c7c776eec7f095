package ratelimit

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Unix(1000, 0)} }
func allowN(b *Bucket, n int) (ok int) {
	for range n {
		if b.Allow() {
			ok++
		}
	}
	return ok
}

func TestBucketRefill(t *testing.T) {
	c := newClock()
	b, err := newBucket(10, 3, c.now)
	require.NoError(t, err)
	require.Equal(t, 3, allowN(b, 5), "starts full with the burst")
	c.add(100 * time.Millisecond)
	require.Equal(t, 1, allowN(b, 5), "10/s refills one token per 100ms")
	c.add(time.Hour)
	require.Equal(t, 3, allowN(b, 5), "never more than the burst")
	c.add(50 * time.Millisecond)
	require.Equal(t, 0, allowN(b, 1), "half a token is no token")
	c.add(50 * time.Millisecond)
	require.Equal(t, 1, allowN(b, 1))
}

func TestBucketClockStepsBack(t *testing.T) {
	c := newClock()
	b, _ := newBucket(1, 1, c.now)
	require.True(t, b.Allow())
	c.add(-time.Hour)
	require.False(t, b.Allow())
	c.add(time.Hour + 500*time.Millisecond)
	require.False(t, b.Allow(), "the time spent going back does not count twice")
	c.add(500 * time.Millisecond)
	require.True(t, b.Allow())
}

func TestBadLimits(t *testing.T) {
	for _, l := range []Limit{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}, {1, -5}} {
		_, err := NewBucket(l.Rate, l.Burst)
		require.Error(t, err, "%+v", l)
		_, err = PerServer(l)
		require.Error(t, err)
		_, err = PerMethod(l, nil)
		require.Error(t, err)
		_, err = PerMethod(Limit{}, map[string]Limit{"/s/M": l})
		require.ErrorContains(t, err, "/s/M")
	}
}

func TestPerMethod(t *testing.T) {
	c := newClock()
	l, err := perMethod(Limit{Rate: 1, Burst: 2}, map[string]Limit{"/s/Hot": {Rate: 1, Burst: 1}}, c.now)
	require.NoError(t, err)
	ctx := context.Background()
	count := func(m string, n int) (ok int) {
		for range n {
			if l.Allow(ctx, m) {
				ok++
			}
		}
		return ok
	}
	require.Equal(t, 1, count("/s/Hot", 3))
	require.Equal(t, 2, count("/s/A", 3))
	require.Equal(t, 2, count("/s/B", 3), "each method has its own default bucket")

	free, err := perMethod(Limit{}, map[string]Limit{"/s/Hot": {Rate: 1, Burst: 1}}, c.now)
	require.NoError(t, err)
	require.True(t, free.Allow(ctx, "/s/Hot"))
	require.False(t, free.Allow(ctx, "/s/Hot"))
	for range 100 {
		require.True(t, free.Allow(ctx, "/s/Other"), "unlisted methods are unlimited without a default")
	}
}
