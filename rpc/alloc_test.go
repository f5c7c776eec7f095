package rpc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A unary call over loopback TCP, client and server in this process: the
// allocations they cost together. The bound is the count measured when it
// was written (AllocsPerRun truncates the mean, so noise does not show): a
// local that escapes to the heap on the per-call path (it happened twice)
// shows up here before it shows up in a benchmark. Lower it when you win.
func TestUnaryCallAllocations(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := ctxTimeout(t, 10*time.Second)
	one := func() {
		got, err := e.echo(ctx, "x")
		require.NoError(t, err)
		require.Equal(t, "x", got)
	}
	for range 100 {
		one() // warm the pools and the connection
	}
	allocs := testing.AllocsPerRun(500, one)
	t.Logf("%.1f allocations per call", allocs)
	bound := 30.0
	if raceEnabled {
		// sync.Pool drops a quarter of the items put under the race
		// detector, and each end's writer borrows its buffer from one
		// for every burst of writes (h2/write_buf.go).
		bound = 35
	}
	require.LessOrEqual(t, allocs, bound, "allocations per unary call grew")
}
