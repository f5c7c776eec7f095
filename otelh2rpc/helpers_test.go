package otelh2rpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/otelh2rpc"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/baggage"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// telemetry is an SDK setup that keeps everything in memory.
type telemetry struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) options() []otelh2rpc.Option {
	return []otelh2rpc.Option{otelh2rpc.WithTracerProvider(tel.tp), otelh2rpc.WithMeterProvider(tel.mp)}
}

// waitSpans waits for n ended spans: a server ends its span once the
// stream has closed, which may be just after the client has its answer.
func (tel *telemetry) waitSpans(t *testing.T, n int) tracetest.SpanStubs {
	t.Helper()
	require.Eventually(t, func() bool { return len(tel.spans.GetSpans()) >= n }, 5*time.Second, time.Millisecond)
	got := tel.spans.GetSpans()
	require.Len(t, got, n)
	return got
}

// service answers UnaryCall: with Next set it first calls Next (the second
// hop) with its own context; a response_status fails the call with it.
// It records the baggage it received.
type service struct {
	testpb.UnimplementedTestServiceServer
	next    testpb.TestServiceClient
	baggage chan string
}

func (s *service) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if s.baggage != nil {
		s.baggage <- baggage.FromContext(ctx).Member("tenant").Value()
	}
	if st := in.GetResponseStatus(); st != nil && st.GetCode() != 0 {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	if s.next != nil {
		return s.next.UnaryCall(ctx, in)
	}
	return &testpb.SimpleResponse{Payload: in.GetPayload()}, nil
}

// serve runs svc on loopback TCP with the server handler and returns its
// address; the server stops when the test ends.
func serve(t *testing.T, svc testpb.TestServiceServer, opts ...otelh2rpc.Option) string {
	t.Helper()
	srv := rpc.NewServer(rpc.StatsHandlerOption(otelh2rpc.NewServerHandler(opts...)))
	testpb.RegisterTestServiceServer(srv, svc)
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

// dial returns an instrumented client of addr, closed when the test ends.
func dial(t *testing.T, addr string, opts ...otelh2rpc.Option) (testpb.TestServiceClient, *rpc.ClientConn) {
	t.Helper()
	cc, err := rpc.NewClient(addr, rpc.WithInsecure(), rpc.WithStatsHandler(otelh2rpc.NewClientHandler(opts...)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return testpb.NewTestServiceClient(cc), cc
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
