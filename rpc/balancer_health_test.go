package rpc

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fakeHealth is a grpc.health.v1.Health with Watch only, its messages
// spelled as the wrappers they match on the wire.
type fakeHealth struct {
	mu      sync.Mutex
	serving int32 // 1 SERVING, 2 NOT_SERVING
	changed chan struct{}
	service string // the name the last Watch asked for
}

func newFakeHealth(serving int32) *fakeHealth {
	return &fakeHealth{serving: serving, changed: make(chan struct{})}
}

func (h *fakeHealth) set(serving int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.serving = serving
	close(h.changed)
	h.changed = make(chan struct{})
}

func healthWatchHandler(srv any, stream ServerStream) error {
	h := srv.(*fakeHealth)
	req := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(req); err != nil {
		return err
	}
	for {
		h.mu.Lock()
		h.service = req.Value
		st, ch := h.serving, h.changed
		h.mu.Unlock()
		if err := stream.SendMsg(wrapperspb.Int32(st)); err != nil {
			return err
		}
		select {
		case <-ch:
		case <-stream.Context().Done():
			return nil
		}
	}
}

var healthDesc = ServiceDesc{
	ServiceName: "grpc.health.v1.Health",
	HandlerType: (*any)(nil),
	Streams:     []StreamDesc{{StreamName: "Watch", Handler: healthWatchHandler, ServerStreams: true}},
}

// With healthCheckConfig, round_robin sends calls only to the servers
// whose health service says SERVING, following it as it changes; a server
// without the service counts as healthy.
func TestHealthCheckingFollowsServingStatus(t *testing.T) {
	checkNoLeaks(t)
	health := []*fakeHealth{newFakeHealth(1), newFakeHealth(2)}
	f := startFleetWith(t, 3, func(int) []ServerOption { return nil }, func(i int, s *Server) {
		if i < len(health) {
			s.RegisterService(&healthDesc, health[i])
		}
	})
	cc, err := NewClient(f.addr(0)+","+f.addr(1)+","+f.addr(2), WithInsecure(),
		WithDefaultServiceConfig(`{"healthCheckConfig": {"serviceName": "echo"}}`))
	require.NoError(t, err)
	defer cc.Close()

	spread := func(want ...int) {
		t.Helper()
		require.Eventually(t, func() bool {
			before := f.counts()
			for range 30 {
				if _, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x"); err != nil {
					return false
				}
			}
			after := f.counts()
			for i := range after {
				got := after[i] > before[i]
				if got != (want[i] == 1) {
					return false
				}
			}
			return true
		}, 5*time.Second, 10*time.Millisecond, "calls not spread as %v: %v", want, f.counts())
	}
	spread(1, 0, 1) // server 1 is NOT_SERVING; server 2 has no health service
	health[0].mu.Lock()
	require.Equal(t, "echo", health[0].service)
	health[0].mu.Unlock()
	st := cc.GetSubConnStates()
	require.Equal(t, TransientFailure, st[1].State)
	require.ErrorContains(t, st[1].LastError, "NOT_SERVING")

	health[1].set(1)
	spread(1, 1, 1)
	health[0].set(2)
	spread(0, 1, 1)
}
