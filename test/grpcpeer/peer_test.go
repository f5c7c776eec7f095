package grpcpeer

import (
	"context"
	"net"
	"testing"
	"time"

	_ "github.com/h2rpc/h2rpc/test/grpcpeer/internal/protoconflict" // first: see the package doc

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/services/reflection"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health" // registers the client-side health checker
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	reflgrpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflalphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// start serves the interop TestService, health and reflection with h2rpc
// on loopback TCP and returns a grpc-go connection to it.
func start(t *testing.T) (*health.Server, *grpc.ClientConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := rpc.NewServer()
	testservice.Register(srv)
	hs := health.Register(srv)
	reflection.Register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		<-done
	})
	return hs, cc
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestHealthWithGrpcGoClient(t *testing.T) {
	hs, cc := start(t)
	c := healthgrpc.NewHealthClient(cc)

	r, err := c.Check(ctx(t), &healthgrpc.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthgrpc.HealthCheckResponse_SERVING, r.GetStatus())

	_, err = c.Check(ctx(t), &healthgrpc.HealthCheckRequest{Service: "no.Such"})
	require.Equal(t, codes.NotFound, status.Code(err))

	hs.SetServingStatus("grpc.testing.TestService", health.NotServing)
	list, err := c.List(ctx(t), &healthgrpc.HealthListRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetStatuses(), 2)
	require.Equal(t, healthgrpc.HealthCheckResponse_NOT_SERVING, list.GetStatuses()["grpc.testing.TestService"].GetStatus())

	w, err := c.Watch(ctx(t), &healthgrpc.HealthCheckRequest{Service: "grpc.testing.TestService"})
	require.NoError(t, err)
	got, err := w.Recv()
	require.NoError(t, err)
	require.Equal(t, healthgrpc.HealthCheckResponse_NOT_SERVING, got.GetStatus())
	hs.SetServingStatus("grpc.testing.TestService", health.Serving)
	got, err = w.Recv()
	require.NoError(t, err)
	require.Equal(t, healthgrpc.HealthCheckResponse_SERVING, got.GetStatus())
	hs.Shutdown()
	got, err = w.Recv()
	require.NoError(t, err)
	require.Equal(t, healthgrpc.HealthCheckResponse_NOT_SERVING, got.GetStatus())
}

// files decodes a reflection answer's descriptors by file name.
func files(t *testing.T, raw [][]byte) map[string]*descriptorpb.FileDescriptorProto {
	t.Helper()
	out := map[string]*descriptorpb.FileDescriptorProto{}
	for _, b := range raw {
		fdp := &descriptorpb.FileDescriptorProto{}
		require.NoError(t, proto.Unmarshal(b, fdp))
		out[fdp.GetName()] = fdp
	}
	return out
}

func TestReflectionV1WithGrpcGoClient(t *testing.T) {
	_, cc := start(t)
	st, err := reflgrpc.NewServerReflectionClient(cc).ServerReflectionInfo(ctx(t))
	require.NoError(t, err)

	require.NoError(t, st.Send(&reflgrpc.ServerReflectionRequest{MessageRequest: &reflgrpc.ServerReflectionRequest_ListServices{}}))
	resp, err := st.Recv()
	require.NoError(t, err)
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	require.Subset(t, names, []string{"grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"})

	require.NoError(t, st.Send(&reflgrpc.ServerReflectionRequest{MessageRequest: &reflgrpc.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "grpc.testing.TestService"}}))
	resp, err = st.Recv()
	require.NoError(t, err)
	fs := files(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto())
	require.Contains(t, fs, "grpc/testing/test.proto")
	require.Contains(t, fs, "grpc/testing/messages.proto", "dependencies come along")

	// The descriptors are complete: they build into a file set that knows
	// FullDuplexCall streams both ways, as grpcurl needs.
	set := &descriptorpb.FileDescriptorSet{}
	for _, f := range fs {
		set.File = append(set.File, f)
	}
	reg, err := protodesc.NewFiles(set)
	require.NoError(t, err)
	d, err := reg.FindDescriptorByName("grpc.testing.TestService.FullDuplexCall")
	require.NoError(t, err)
	m := d.(protoreflect.MethodDescriptor)
	require.True(t, m.IsStreamingClient())
	require.True(t, m.IsStreamingServer())

	require.NoError(t, st.Send(&reflgrpc.ServerReflectionRequest{MessageRequest: &reflgrpc.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "grpc.testing.Missing"}}))
	resp, err = st.Recv()
	require.NoError(t, err)
	require.Equal(t, int32(codes.NotFound), resp.GetErrorResponse().GetErrorCode())
	require.NoError(t, st.CloseSend())
}

func TestReflectionV1AlphaWithGrpcGoClient(t *testing.T) {
	_, cc := start(t)
	st, err := reflalphagrpc.NewServerReflectionClient(cc).ServerReflectionInfo(ctx(t))
	require.NoError(t, err)
	require.NoError(t, st.Send(&reflalphagrpc.ServerReflectionRequest{MessageRequest: &reflalphagrpc.ServerReflectionRequest_FileByFilename{
		FileByFilename: "grpc/health/v1/health.proto"}}))
	resp, err := st.Recv()
	require.NoError(t, err)
	fs := files(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto())
	require.Contains(t, fs, "grpc/health/v1/health.proto")
	require.Equal(t, "Health", fs["grpc/health/v1/health.proto"].GetService()[0].GetName())
}

// TestGrpcGoClientSideHealthChecking lets grpc-go's own health checker
// (service config healthCheckConfig, which runs Watch) decide whether the
// h2rpc server may take calls.
func TestGrpcGoClientSideHealthChecking(t *testing.T) {
	hs, plain := start(t)
	hs.SetServingStatus("grpc.testing.TestService", health.NotServing)
	cc, err := grpc.NewClient(plain.Target(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":"grpc.testing.TestService"}}`))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })

	call := func() error {
		c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		return cc.Invoke(c, "/grpc.testing.TestService/EmptyCall", &testpb.Empty{}, &testpb.Empty{})
	}
	err = call()
	require.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, status.Code(err), "an unhealthy backend gets no calls: %v", err)

	hs.SetServingStatus("grpc.testing.TestService", health.Serving)
	require.Eventually(t, func() bool { return call() == nil }, 10*time.Second, 50*time.Millisecond)

	hs.Shutdown()
	require.Eventually(t, func() bool { return call() != nil }, 10*time.Second, 50*time.Millisecond,
		"the client stops using a server that reports NOT_SERVING on shutdown")
}
