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
	return []byte(time.Until(dl).Round(time.Second).String())
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

func unary(t *testing.T, c testpb.TestServiceClient, ctx context.Context) string {
	t.Helper()
	r, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	return string(r.GetPayload().GetBody())
}

func stream(t *testing.T, c testpb.TestServiceClient, ctx context.Context) string {
	t.Helper()
	st, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	r, err := st.Recv()
	require.NoError(t, err)
	return string(r.GetPayload().GetBody())
}

func TestServerDefault(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(timeout.UnaryServerInterceptor(30 * time.Second)),
		rpc.StreamInterceptor(timeout.StreamServerInterceptor(30 * time.Second)),
	})
	require.Equal(t, "30s", unary(t, c, context.Background()))
	require.Equal(t, "30s", stream(t, c, context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.Equal(t, "5s", unary(t, c, ctx), "the client's own deadline wins")
	require.Equal(t, "5s", stream(t, c, ctx))
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
	require.Equal(t, "20s", unary(t, c, context.Background()), "the server sees the client's default via grpc-timeout")
	require.Equal(t, "20s", stream(t, c, context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.Equal(t, "3s", unary(t, c, ctx))
}

func TestClientDefaultExpires(t *testing.T) {
	c := testsrv.Start(t, &deadlineService{}, nil,
		rpc.WithUnaryInterceptor(timeout.UnaryClientInterceptor(50*time.Millisecond)))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("wait")})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
}
