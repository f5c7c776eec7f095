package timeout_test

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/timeout"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// deadlineService reports the time left until the handler's deadline in
// the payload ("none" without one), or waits for the deadline on "wait".
type deadlineService struct{ testsrv.Service }

func left(ctx context.Context) []byte {
	dl, ok := ctx.Deadline()
	if !ok {
		return []byte("none")
	}
	return []byte(time.Until(dl).String())
}

func (s *deadlineService) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if string(in.GetPayload().GetBody()) == "wait" {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: left(ctx)}}, nil
}

func (s *deadlineService) FullDuplexCall(st rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	return st.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: left(st.Context())}})
}

// unary and stream return the handler's time left, as whole seconds
// rounded up, or "none".
func unary(t *testing.T, c testpb.TestServiceClient, ctx context.Context) string {
	t.Helper()
	r, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	return roundUp(t, string(r.GetPayload().GetBody()))
}

func stream(t *testing.T, c testpb.TestServiceClient, ctx context.Context) string {
	t.Helper()
	st, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	r, err := st.Recv()
	require.NoError(t, err)
	return roundUp(t, string(r.GetPayload().GetBody()))
}

func roundUp(t *testing.T, left string) string {
	if left == "none" {
		return left
	}
	d, err := time.ParseDuration(left)
	require.NoError(t, err)
	return (d.Truncate(time.Second) + time.Second).String()
}

func TestServerDefault(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(timeout.UnaryServerInterceptor(30 * time.Second)),
		rpc.StreamInterceptor(timeout.StreamServerInterceptor(30 * time.Second)),
	})
	near(t, "30s", unary(t, c, context.Background()))
	near(t, "30s", stream(t, c, context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	near(t, "5s", unary(t, c, ctx))
	near(t, "5s", stream(t, c, ctx))
}

func TestServerDefaultExpires(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(timeout.UnaryServerInterceptor(50 * time.Millisecond)),
	})
	start := time.Now()
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("wait")})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestZeroDisables(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(timeout.UnaryServerInterceptor(0)),
	}, rpc.WithUnaryInterceptor(timeout.UnaryClientInterceptor(-time.Second)))
	require.Equal(t, "none", unary(t, c, context.Background()))
}

func TestWithoutInterceptorNoDeadline(t *testing.T) {
	// The baseline the other tests rely on: the runtime adds no deadline.
	c := testsrv.Start(t, &deadlineService{}, nil)
	require.Equal(t, "none", unary(t, c, context.Background()))
}

func TestClientDefaultTravels(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, nil,
		rpc.WithUnaryInterceptor(timeout.UnaryClientInterceptor(20*time.Second)),
		rpc.WithStreamInterceptor(timeout.StreamClientInterceptor(20*time.Second)))
	near(t, "20s", unary(t, c, context.Background()))
	near(t, "20s", stream(t, c, context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	near(t, "3s", unary(t, c, ctx))
}

func TestClientDefaultExpires(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, nil,
		rpc.WithUnaryInterceptor(timeout.UnaryClientInterceptor(50*time.Millisecond)))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("wait")})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
}

// near accepts up to 2s less than want: the handler may run late on a
// loaded machine, but a deadline never grows.
func near(t *testing.T, want, got string) {
	t.Helper()
	w, err := time.ParseDuration(want)
	require.NoError(t, err)
	g, err := time.ParseDuration(got)
	require.NoError(t, err, "time left %q", got)
	require.LessOrEqual(t, g, w)
	require.Greater(t, g, w-2*time.Second)
}
