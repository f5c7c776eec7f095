package otelpeer

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/validate"
	"github.com/h2rpc/h2rpc/otelh2rpc"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/proto/validatetest"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// w3c is the propagation both sides use, set explicitly: otelgrpc follows
// the global propagator, which propagates nothing until it is set.
var w3c = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

func newTracing(t *testing.T) (*tracetest.InMemoryExporter, *sdktrace.TracerProvider) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return exp, tp
}

func waitSpans(t *testing.T, exp *tracetest.InMemoryExporter, n int) tracetest.SpanStubs {
	t.Helper()
	require.Eventually(t, func() bool { return len(exp.GetSpans()) >= n }, 5*time.Second, time.Millisecond)
	return exp.GetSpans()
}

func spanOfKind(t *testing.T, spans tracetest.SpanStubs, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.SpanKind == kind {
			return s
		}
	}
	t.Fatalf("no %v span among %d", kind, len(spans))
	return tracetest.SpanStub{}
}

type testService struct {
	testpb.UnimplementedTestServiceServer
}

func (testService) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: in.GetPayload()}, nil
}

type signup struct {
	validatetest.UnimplementedSignupServer
}

func (signup) Register(_ context.Context, u *validatetest.User) (*validatetest.User, error) {
	return u, nil
}

// serveH2rpc runs an instrumented, validating h2rpc server on loopback TCP.
func serveH2rpc(t *testing.T, tp trace.TracerProvider) string {
	t.Helper()
	srv := rpc.NewServer(rpc.StatsHandlerOption(otelh2rpc.NewServerHandler(otelh2rpc.WithTracerProvider(tp))),
		rpc.UnaryInterceptor(validate.UnaryServerInterceptor()))
	testpb.RegisterTestServiceServer(srv, testService{})
	validatetest.RegisterSignupServer(srv, signup{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return l.Addr().String()
}

func grpcClient(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOtelgrpcClientToOurServerSharesATrace(t *testing.T) {
	exp, tp := newTracing(t)
	addr := serveH2rpc(t, tp)
	cc := grpcClient(t, addr, grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(w3c))))

	var out testpb.SimpleResponse
	require.NoError(t, cc.Invoke(ctxTimeout(t), "/grpc.testing.TestService/UnaryCall",
		&testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hi")}}, &out))
	require.Equal(t, "hi", string(out.GetPayload().GetBody()))

	spans := waitSpans(t, exp, 2)
	cli := spanOfKind(t, spans, trace.SpanKindClient) // otelgrpc's
	srv := spanOfKind(t, spans, trace.SpanKindServer) // ours
	require.Equal(t, "github.com/h2rpc/h2rpc/otelh2rpc", srv.InstrumentationScope.Name)
	require.NotEqual(t, srv.InstrumentationScope.Name, cli.InstrumentationScope.Name)
	require.Equal(t, cli.SpanContext.TraceID(), srv.SpanContext.TraceID(), "one trace")
	require.Equal(t, cli.SpanContext.SpanID(), srv.Parent.SpanID())
	require.Equal(t, cli.Name, srv.Name, "both name the span pkg.Service/Method")
}

func TestOurClientToOtelgrpcServerSharesATrace(t *testing.T) {
	exp, tp := newTracing(t)
	gs := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(w3c))))
	healthpb.RegisterHealthServer(gs, grpchealth.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)

	cc, err := rpc.NewClient(l.Addr().String(), rpc.WithInsecure(),
		rpc.WithStatsHandler(otelh2rpc.NewClientHandler(otelh2rpc.WithTracerProvider(tp))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	var out healthpb.HealthCheckResponse
	require.NoError(t, cc.Invoke(ctxTimeout(t), "/grpc.health.v1.Health/Check", &healthpb.HealthCheckRequest{}, &out))
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, out.GetStatus())

	spans := waitSpans(t, exp, 2)
	cli := spanOfKind(t, spans, trace.SpanKindClient) // ours
	srv := spanOfKind(t, spans, trace.SpanKindServer) // otelgrpc's
	require.Equal(t, "github.com/h2rpc/h2rpc/otelh2rpc", cli.InstrumentationScope.Name)
	require.Equal(t, cli.SpanContext.TraceID(), srv.SpanContext.TraceID(), "one trace")
	require.Equal(t, cli.SpanContext.SpanID(), srv.Parent.SpanID())
}

// A grpc-go client reads the field violations of a request that broke
// protovalidate rules on our server.
func TestGrpcClientReadsFieldViolations(t *testing.T) {
	_, tp := newTracing(t)
	cc := grpcClient(t, serveH2rpc(t, tp))
	bad := &validatetest.User{Email: "nope", Name: "Ada", Age: 3}
	err := cc.Invoke(ctxTimeout(t), "/h2rpc.validatetest.Signup/Register", bad, &validatetest.User{})
	st, ok := status.FromError(err)
	require.True(t, ok)
	require.Equal(t, codes.InvalidArgument, st.Code())
	fields := map[string]string{}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		require.True(t, ok, "detail %T", d)
		for _, fv := range br.GetFieldViolations() {
			fields[fv.GetField()] = fv.GetReason()
		}
	}
	require.Equal(t, map[string]string{"email": "string.email", "age": "uint32.gte_lte"}, fields)
}
