package ratelimit

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Unix(1000, 0)} }

func allowN(l Limiter, n int) (ok int) {
	for range n {
		if l.Allow(context.Background(), "/s/M") {
			ok++
		}
	}
	return ok
}

func TestRefill(t *testing.T) {
	c := newClock()
	l := shared{rate.NewLimiter(10, 3), c.now}
	// rate.NewLimiter starts full at the first call's time.
	require.Equal(t, 3, allowN(l, 5), "starts full with the burst")
	c.add(100 * time.Millisecond)
	require.Equal(t, 1, allowN(l, 5), "10/s refills one token per 100ms")
	c.add(time.Hour)
	require.Equal(t, 3, allowN(l, 5), "never more than the burst")
	c.add(50 * time.Millisecond)
	require.Equal(t, 0, allowN(l, 1), "half a token is no token")
	c.add(50 * time.Millisecond)
	require.Equal(t, 1, allowN(l, 1))
}

func TestSharedFollowsItsLimiter(t *testing.T) {
	rl := rate.NewLimiter(rate.Every(time.Hour), 1)
	l := Shared(rl)
	require.True(t, l.Allow(context.Background(), "/s/A"))
	require.False(t, l.Allow(context.Background(), "/s/B"), "one bucket for every method")
	rl.SetLimit(rate.Inf)
	require.True(t, l.Allow(context.Background(), "/s/A"), "a change made while serving applies at once")
}

func TestBadLimits(t *testing.T) {
	for _, l := range []Limit{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}, {1, -5}} {
		_, err := PerServer(l)
		require.Error(t, err, "%+v", l)
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
	c.add(time.Second)
	require.Equal(t, 1, count("/s/Hot", 3), "refilled at its own rate")

	free, err := perMethod(Limit{}, map[string]Limit{"/s/Hot": {Rate: 1, Burst: 1}}, c.now)
	require.NoError(t, err)
	require.True(t, free.Allow(ctx, "/s/Hot"))
	require.False(t, free.Allow(ctx, "/s/Hot"))
	for range 100 {
		require.True(t, free.Allow(ctx, "/s/Other"), "unlisted methods are unlimited without a default")
	}
}
