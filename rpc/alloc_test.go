package rpc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A unary call over loopback TCP, client and server in this process: the
// allocations they cost together. The bound is the count measured when it
// was written (AllocsPerRun truncates the mean, so noise does not show): a
// local that escapes to the heap on the per-call path (it happened twice)
// shows up here before it shows up in a benchmark. Lower it when you win.
func TestUnaryCallAllocations(t *testing.T) {
	allocs := echoAllocations(t, newEnv(t, true, nil))
	bound := 14.0
	if raceEnabled {
		// sync.Pool drops a quarter of the items put under the race
		// detector, and each end's writer borrows its buffer from one
		// for every burst of writes (h2/write_buf.go).
		bound = 22
	}
	require.LessOrEqual(t, allocs, bound, "allocations per unary call grew")
}

// echoAllocations is the mean number of allocations of one unary echo
// call on e, client and server together, once pools and connection are warm.
func echoAllocations(t *testing.T, e *env) float64 {
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
	return allocs
}

// concatInto sends msg n times on a client stream of the test service's
// Concat and reads the joined answer into out (given, so that allocation
// counts leave it out).
func concatInto(t *testing.T, ctx context.Context, e *env, msg *wrapperspb.StringValue, n int, out *wrapperspb.StringValue) {
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
	require.NoError(t, err)
	for range n {
		require.NoError(t, cs.SendMsg(msg))
	}
	require.NoError(t, cs.CloseSend())
	require.NoError(t, cs.RecvMsg(out))
}

// A client stream keeps the messages it sent until the response headers come,
// for a transparent retry; once they come, the kept buffers go back to the
// pool. Left to the GC they cost an allocation per message (this test saw
// about 50 more per call of 50 messages).
func TestClientStreamKeptMessagesAreRecycled(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := ctxTimeout(t, 10*time.Second)
	msg := wrapperspb.String(strings.Repeat("x", 1024))
	const msgs = 50
	out := new(wrapperspb.StringValue)
	one := func() {
		concatInto(t, ctx, e, msg, msgs, out)
		require.Len(t, out.Value, msgs*1024)
	}
	for range 20 {
		one()
	}
	allocs := testing.AllocsPerRun(50, one)
	t.Logf("%.1f allocations per call of %d messages", allocs, msgs)
	bound := 3.2 * msgs // the server's decoded messages and its string builder (147 measured)
	if raceEnabled {
		bound = 4.7 * msgs // sync.Pool drops items under the race detector (201 measured, 276 without the recycling)
	}
	require.LessOrEqual(t, allocs, bound, "allocations per client-stream message grew")
}
