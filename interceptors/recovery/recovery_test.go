package recovery_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/recovery"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func start(t *testing.T, opts ...recovery.Option) (testpb.TestServiceClient, *testsrv.LogBuffer) {
	logger, buf := testsrv.NewLogger(slog.LevelInfo)
	opts = append([]recovery.Option{recovery.WithLogger(logger)}, opts...)
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(recovery.UnaryServerInterceptor(opts...)),
		rpc.StreamInterceptor(recovery.StreamServerInterceptor(opts...)),
	})
	return c, buf
}

func TestUnaryPanicBecomesInternalAndServerLivesOn(t *testing.T) {
	c, buf := start(t)
	ctx := context.Background()
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: testsrv.Body("panic")})
	require.Equal(t, codes.Internal, status.Code(err))
	require.Equal(t, "internal error", status.Convert(err).Message())
	log := buf.String()
	require.Contains(t, log, `"rpc.method":"/grpc.testing.TestService/UnaryCall"`)
	require.Contains(t, log, "testsrv: asked to panic")
	require.Contains(t, log, "testsrv.(*Service).UnaryCall", "the stack names the panicking frame")

	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: testsrv.Body("ok")})
	require.NoError(t, err)
	require.Equal(t, "ok", string(resp.GetPayload().GetBody()))
}

func TestStreamPanicBecomesInternal(t *testing.T) {
	c, buf := start(t)
	st, err := c.FullDuplexCall(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("panic")}))
	_, err = st.Recv()
	require.Equal(t, codes.Internal, status.Code(err))
	require.True(t, strings.Contains(buf.String(), "FullDuplexCall"))
}

func TestCustomHandler(t *testing.T) {
	c, _ := start(t, recovery.WithHandler(func(_ context.Context, m string, p any) error {
		return status.Errorf(codes.Unavailable, "%s: %v", m, p)
	}))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("panic")})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "asked to panic")
}

func TestHandlerReturningNilStillFails(t *testing.T) {
	c, _ := start(t, recovery.WithHandler(func(context.Context, string, any) error { return nil }))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("panic")})
	require.Equal(t, codes.Internal, status.Code(err))
}

func TestNoPanicPassesThrough(t *testing.T) {
	c, buf := start(t)
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "nope"}})
	require.Equal(t, codes.NotFound, status.Code(err))
	require.Empty(t, buf.String())
}
