package rpc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A gRPC-Web or Connect unary call on the client's own sessions, over
// loopback TCP, client and server in this process: the allocations they
// cost together. Through a net/http request and response converted to and
// from h2's they cost 76 (gRPC-Web) and 74 (Connect); the native path builds
// h2's header list directly and reads the h2 stream, as gRPC calls do. The
// bound is what was measured when it was written (AllocsPerRun truncates
// the mean, so noise does not show); lower it when you win.
func TestWebUnaryCallAllocations(t *testing.T) {
	for _, c := range []struct {
		p     Protocol
		bound float64
	}{{ProtocolGRPCWeb, 30}, {ProtocolConnect, 30}} {
		t.Run(c.p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			e := newEnv(t, true, nil, WithProtocol(c.p))
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
			bound := c.bound
			if raceEnabled {
				bound += 10 // sync.Pool drops a quarter of its items under the race detector (6 more measured)
			}
			require.LessOrEqual(t, allocs, bound, "allocations per %s unary call grew", c.p)
		})
	}
}
