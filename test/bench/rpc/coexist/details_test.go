package coexist

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Status details (grpc-status-details-bin, a google.rpc.Status) travel both
// ways between grpc-go and h2rpc, each side using its own encoder.

const failMethod = "/coexist.S/Fail"

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func listen(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return l
}

func TestDetailsFromGrpcGoServer(t *testing.T) {
	gs := grpc.NewServer()
	gs.RegisterService(&grpc.ServiceDesc{ServiceName: "coexist.S", HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{{
		MethodName: "Fail",
		Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(wrapperspb.StringValue)); err != nil {
				return nil, err
			}
			st, err := grpcstatus.New(grpccodes.FailedPrecondition, "not yet").WithDetails(wrapperspb.String("why"), durationpb.New(time.Second))
			if err != nil {
				return nil, err
			}
			return nil, st.Err()
		},
	}}}, struct{}{})
	l := listen(t)
	go func() { _ = gs.Serve(l) }()
	defer gs.Stop()

	cc, err := rpc.NewClient(l.Addr().String(), rpc.WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	err = cc.Invoke(ctx5(t), failMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
	st := status.Convert(err)
	require.Equal(t, codes.FailedPrecondition, st.Code())
	require.Equal(t, "not yet", st.Message())
	d := st.Details()
	require.Len(t, d, 2)
	require.True(t, proto.Equal(wrapperspb.String("why"), d[0].(proto.Message)))
	require.True(t, proto.Equal(durationpb.New(time.Second), d[1].(proto.Message)))
}

func TestDetailsToGrpcGoClient(t *testing.T) {
	srv := rpc.NewServer()
	srv.RegisterService(&rpc.ServiceDesc{ServiceName: "coexist.S", HandlerType: (*any)(nil), Methods: []rpc.MethodDesc{{
		MethodName: "Fail",
		Handler: func(_ any, _ context.Context, dec func(any) error, _ rpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(wrapperspb.StringValue)); err != nil {
				return nil, err
			}
			st, err := status.New(codes.Aborted, "try again").WithDetails(wrapperspb.String("conflict"))
			if err != nil {
				return nil, err
			}
			return nil, st.Err()
		},
	}}}, struct{}{})
	l := listen(t)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	err = conn.Invoke(ctx5(t), failMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
	st := grpcstatus.Convert(err)
	require.Equal(t, grpccodes.Aborted, st.Code())
	require.Equal(t, "try again", st.Message())
	d := st.Details()
	require.Len(t, d, 1)
	require.True(t, proto.Equal(wrapperspb.String("conflict"), d[0].(proto.Message)))
}
