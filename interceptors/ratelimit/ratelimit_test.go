package ratelimit_test

import (
	"context"
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/ratelimit"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func TestServerLimitOverCalls(t *testing.T) {
	// A rate of one call per hour: only the burst gets through in the test.
	l, err := ratelimit.PerServer(ratelimit.Limit{Rate: 1.0 / 3600, Burst: 2})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(ratelimit.UnaryServerInterceptor(l)),
		rpc.StreamInterceptor(ratelimit.StreamServerInterceptor(l)),
	})
	ctx := context.Background()
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	st, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{}))
	for range 3 {
		_, err = st.Recv()
		require.NoError(t, err, "messages on an admitted stream are not limited")
		require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{}))
	}
	require.NoError(t, st.CloseSend())

	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	require.Equal(t, "rate limit exceeded for /grpc.testing.TestService/UnaryCall", status.Convert(err).Message())
	st, err = c.FullDuplexCall(ctx)
	if err == nil {
		_, err = st.Recv()
	}
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
}

func TestPerMethodLimit(t *testing.T) {
	l, err := ratelimit.PerMethod(ratelimit.Limit{}, map[string]ratelimit.Limit{
		testpb.TestService_UnaryCall_FullMethodName: {Rate: 1.0 / 3600, Burst: 1},
	})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{rpc.UnaryInterceptor(ratelimit.UnaryServerInterceptor(l))})
	ctx := context.Background()
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	for range 5 {
		_, err = c.EmptyCall(ctx, &testpb.Empty{})
		require.NoError(t, err, "other methods have their own (here: no) limit")
	}
}
