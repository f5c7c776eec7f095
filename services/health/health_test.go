package health

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	healthpb "github.com/h2rpc/h2rpc/proto/grpc/health/v1"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func start(t *testing.T) (*Server, healthpb.HealthClient, *rpc.Server) {
	t.Helper()
	srv := rpc.NewServer()
	hs := Register(srv)
	l := rpc.NewInMemoryListener()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		<-done
	})
	return hs, healthpb.NewHealthClient(cc), srv
}

func check(t *testing.T, c healthpb.HealthClient, svc string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	t.Helper()
	r, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
	return r.GetStatus(), err
}

func TestCheck(t *testing.T) {
	hs, c, _ := start(t)
	st, err := check(t, c, "")
	require.NoError(t, err)
	require.Equal(t, Serving, st)

	_, err = check(t, c, "my.Service")
	require.Equal(t, codes.NotFound, status.Code(err))

	hs.SetServingStatus("my.Service", NotServing)
	st, err = check(t, c, "my.Service")
	require.NoError(t, err)
	require.Equal(t, NotServing, st)
}

func TestList(t *testing.T) {
	hs, c, _ := start(t)
	hs.SetServingStatus("a.A", NotServing)
	hs.SetServingStatus("b.B", Serving)
	r, err := c.List(context.Background(), &healthpb.HealthListRequest{})
	require.NoError(t, err)
	got := map[string]healthpb.HealthCheckResponse_ServingStatus{}
	for k, v := range r.GetStatuses() {
		got[k] = v.GetStatus()
	}
	require.Equal(t, map[string]healthpb.HealthCheckResponse_ServingStatus{"": Serving, "a.A": NotServing, "b.B": Serving}, got)

	for i := range MaxListed {
		hs.SetServingStatus(fmt.Sprintf("s%d", i), Serving)
	}
	_, err = c.List(context.Background(), &healthpb.HealthListRequest{})
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
}

func recv(t *testing.T, w healthpb.Health_WatchClient) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := w.Recv()
	require.NoError(t, err)
	return r.GetStatus()
}

func TestWatch(t *testing.T) {
	hs, c, _ := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	require.NoError(t, err)
	require.Equal(t, ServiceUnknown, recv(t, w))

	hs.SetServingStatus("svc", Serving)
	require.Equal(t, Serving, recv(t, w))
	hs.SetServingStatus("svc", Serving) // no change: nothing sent
	hs.SetServingStatus("other", NotServing)
	hs.SetServingStatus("svc", NotServing)
	require.Equal(t, NotServing, recv(t, w))

	cancel()
	_, err = w.Recv()
	require.Equal(t, codes.Canceled, status.Code(err))
	require.Eventually(t, func() bool {
		hs.mu.Lock()
		defer hs.mu.Unlock()
		return len(hs.watchers) == 0
	}, 5*time.Second, 10*time.Millisecond, "a finished Watch unregisters")
}

func TestSlowWatcherGetsLatest(t *testing.T) {
	hs := NewServer()
	ch := make(chan healthpb.HealthCheckResponse_ServingStatus, 1)
	hs.watchers["s"] = map[chan healthpb.HealthCheckResponse_ServingStatus]struct{}{ch: {}}
	hs.SetServingStatus("s", Serving)
	hs.SetServingStatus("s", NotServing) // must not block on the full channel
	require.Equal(t, NotServing, <-ch)
}

func TestShutdownAndResume(t *testing.T) {
	hs, c, _ := start(t)
	hs.SetServingStatus("svc", Serving)
	w, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: ""})
	require.NoError(t, err)
	require.Equal(t, Serving, recv(t, w))

	hs.Shutdown()
	require.Equal(t, NotServing, recv(t, w))
	for _, svc := range []string{"", "svc"} {
		st, err := check(t, c, svc)
		require.NoError(t, err)
		require.Equal(t, NotServing, st, svc)
	}
	hs.SetServingStatus("svc", Serving)
	st, _ := check(t, c, "svc")
	require.Equal(t, NotServing, st, "updates are ignored while shut down")

	hs.Resume()
	require.Equal(t, Serving, recv(t, w))
	st, _ = check(t, c, "svc")
	require.Equal(t, Serving, st)
}

func TestGracefulStopTellsWatchersThenEndsThem(t *testing.T) {
	hs, c, srv := start(t)
	w, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, Serving, recv(t, w))
	hs.SetServingStatus("svc", Serving)
	w2, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "svc"})
	require.NoError(t, err)
	require.Equal(t, Serving, recv(t, w2))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, GracefulStop(ctx, srv, hs), "the watches end, so the shutdown need not wait for ctx")
	require.Less(t, time.Since(start), 5*time.Second)
	for _, w := range []healthpb.Health_WatchClient{w, w2} {
		require.Equal(t, NotServing, recv(t, w))
		_, err = w.Recv()
		require.ErrorIs(t, err, io.EOF)
	}
}

func TestServerShutdownReportsNotServing(t *testing.T) {
	hs, c, srv := start(t)
	hs.SetServingStatus("svc", Serving)
	w, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "svc"})
	require.NoError(t, err)
	require.Equal(t, Serving, recv(t, w))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, srv.Shutdown(ctx), "rpc.Server.Shutdown alone: health hooked into it at Register")
	require.Less(t, time.Since(start), 5*time.Second, "the watch ended, so the shutdown did not wait for ctx")
	require.Equal(t, NotServing, recv(t, w))
	_, err = w.Recv()
	require.ErrorIs(t, err, io.EOF)
	st, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, NotServing, st.GetStatus())
}

func TestGracefulStopWithoutRegister(t *testing.T) {
	// A health server registered through another registrar has no
	// shutdown hook; GracefulStop ties it to the server by hand.
	srv := rpc.NewServer()
	hs := NewServer()
	healthpb.RegisterHealthServer(registrarOnly{srv}, hs)
	l := rpc.NewInMemoryListener()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
	require.NoError(t, err)
	defer func() {
		_ = cc.Close()
		<-done
	}()
	w, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, Serving, recv(t, w))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, GracefulStop(ctx, srv, hs))
	require.Equal(t, NotServing, recv(t, w))
}

// registrarOnly hides RegisterOnShutdown.
type registrarOnly struct{ s *rpc.Server }

func (r registrarOnly) RegisterService(d *rpc.ServiceDesc, impl any) { r.s.RegisterService(d, impl) }
