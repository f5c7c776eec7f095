package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// When the server sends no header or trailer metadata the client still gets
// an empty, non-nil MD, as from grpc-go, so callers can store into it.
func TestEmptyMetadataIsNonNil(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	var hdr, trl metadata.MD
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "plain", Header(&hdr), Trailer(&trl))
	require.NoError(t, err)
	require.NotNil(t, hdr)
	require.NotNil(t, trl)
	require.Empty(t, hdr)
	require.Empty(t, trl)

	cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[0], "/test.Echo/Count")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.Int32(1)))
	require.NoError(t, cs.CloseSend())
	h, err := cs.Header()
	require.NoError(t, err)
	require.NotNil(t, h)
	require.Empty(t, h)
	for cs.RecvMsg(new(wrapperspb.StringValue)) == nil {
	}
	require.NotNil(t, cs.Trailer())
	require.Empty(t, cs.Trailer())
	h.Set("mine", "ok") // the caller's own copy
}

// PeerFromContext is built once per connection: later calls on it get the
// same Peer without allocating.
func TestPeerFromContextCachedPerConnection(t *testing.T) {
	checkNoLeaks(t)
	type result struct {
		p      *Peer
		allocs float64
	}
	got := make(chan result, 2)
	e := newEnv(t, true, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		p, _ := PeerFromContext(ctx)
		allocs := testing.AllocsPerRun(10, func() { _, _ = PeerFromContext(ctx) })
		got <- result{p, allocs}
		return h(ctx, req)
	})})
	for i := 0; i < 2; i++ {
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "who")
		require.NoError(t, err)
	}
	a, b := <-got, <-got
	require.Same(t, a.p, b.p)
	require.Zero(t, a.allocs)
	require.Equal(t, e.addr, a.p.LocalAddr.String())
}
