package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestRefusedUploadFinishesPromptly: a 4 MiB request refused for its size
// ends with RESOURCE_EXHAUSTED quickly, although the server never reads the
// rest of it (h2 credits the dropped bytes), and the connection stays usable.
func TestRefusedUploadFinishesPromptly(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		// Small windows: the client can only finish if the skipped part is credited.
		e := newEnv(t, tcp, []ServerOption{InitialWindowSize(64 << 10), InitialConnWindowSize(64 << 10)})
		big := string(make([]byte, 4<<20))
		for i := 0; i < 3; i++ {
			start := time.Now()
			_, err := e.echo(ctxTimeout(t, 20*time.Second), big)
			require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
			require.Less(t, time.Since(start), 5*time.Second)
		}
		for i := 0; i < 20; i++ {
			got, err := e.echo(ctxTimeout(t, 5*time.Second), "still here")
			require.NoError(t, err)
			require.Equal(t, "still here", got)
		}
		got, err := e.echo(ctxTimeout(t, 20*time.Second), big[:3<<20])
		require.NoError(t, err)
		require.Len(t, got, 3<<20)
	})
}

// TestRefusedUploadFreesHandlerAtOnce: when a streaming client keeps its
// side open after its message was refused, the server's call ends as soon as
// the status is sent; nothing waits for the client's remaining bytes.
func TestRefusedUploadFreesHandlerAtOnce(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
	require.NoError(t, err)
	go func() { _ = cs.SendMsg(wrapperspb.String(string(make([]byte, 5<<20)))) }()
	err = cs.RecvMsg(new(wrapperspb.StringValue))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	// The client never half-closes; the server's call must be over anyway.
	// A call that waited for the client's remaining bytes would never end
	// (the client sends no more), so the bound only needs to outlast a
	// loaded machine's scheduling; 500 ms was a speed requirement.
	require.Eventually(t, func() bool { return activeCalls(e.srv) == 0 }, 5*time.Second, 5*time.Millisecond)
}

// activeCalls sums the server's running calls over its connections.
func activeCalls(s *Server) int {
	n := 0
	s.conns.Range(func(_, v any) bool {
		n += int(v.(*connState).active.Load())
		return true
	})
	return n
}
