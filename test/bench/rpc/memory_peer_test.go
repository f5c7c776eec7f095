package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A peer is this test binary again, serving the stack: it answers calls on
// the address it gives, reports a positive footprint on request, and exits
// cleanly when its input ends.
func TestMemoryPeer(t *testing.T) {
	p, err := startPeer(grpcGo)
	require.NoError(t, err)
	c, err := dialGRPC(p.addr, nil)
	require.NoError(t, err)
	require.NoError(t, unaryOnce(context.Background(), c, 1))
	f, err := p.footprint()
	require.NoError(t, err)
	require.Positive(t, f.live)
	require.Positive(t, f.rss)
	c.Close()
	require.NoError(t, p.Close())
}

// A peer asked for a stack that does not exist fails to start, with the
// reason on its stderr and an error here rather than a wait.
func TestMemoryPeerUnknownStack(t *testing.T) {
	_, err := startPeer("nope")
	require.ErrorContains(t, err, "memory peer")
}
