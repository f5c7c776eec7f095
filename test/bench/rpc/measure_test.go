package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The warm-up lasts its time and then until two collections have run, so
// that the window does not measure the heap growing.
func TestWarmUpWaitsForCollections(t *testing.T) {
	polls := 0
	gcs := func() uint64 { // a collection every third look
		polls++
		return uint64(polls / 3)
	}
	warmUp(context.Background(), time.Millisecond, time.Minute, gcs)
	require.Equal(t, 6, polls, "returned before the second collection or polled on after it")
}

// A case that does not collect at all still starts measuring, at the limit.
func TestWarmUpIsCapped(t *testing.T) {
	start := time.Now()
	warmUp(context.Background(), time.Millisecond, 50*time.Millisecond, func() uint64 { return 0 })
	took := time.Since(start)
	require.GreaterOrEqual(t, took, 50*time.Millisecond)
	require.Less(t, took, 30*time.Second)
}
