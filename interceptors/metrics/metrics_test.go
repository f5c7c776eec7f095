package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/metrics"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// collect returns the metrics recorded so far by name, each with the
// grpc.method values of its data points.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string][]string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string][]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for _, s := range sets {
				v, _ := s.Value("grpc.method")
				out[m.Name] = append(out[m.Name], v.AsString())
			}
		}
	}
	return out
}

func TestServerAndClientMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	// The server's handler reports whether trace context arrived.
	traced := make(chan bool, 1)
	svc := &testsrv.Service{Unary: func(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		traced <- len(metadata.ValueFromIncomingContext(ctx, "traceparent")) > 0
		return &testpb.SimpleResponse{}, nil
	}}
	cc, _ := testsrv.StartConn(t, svc, []rpc.ServerOption{rpc.StatsHandlerOption(metrics.NewServerHandler(mp))},
		rpc.WithStatsHandler(metrics.NewClientHandler(mp)))
	c := testpb.NewTestServiceClient(cc)

	// A span in the caller's context: a metrics-only client neither
	// continues it nor sends it on.
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "caller")
	defer span.End()
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.False(t, <-traced, "no traceparent sent")
	for i := range 20 {
		err := cc.Invoke(ctx, "/grpc.testing.TestService/Unknown"+string(rune('a'+i)), &testpb.Empty{}, &testpb.Empty{})
		require.Equal(t, codes.Unimplemented, status.Code(err))
	}

	require.Eventually(t, func() bool { return len(collect(t, reader)["grpc.server.call.duration"]) == 2 }, 5*time.Second, time.Millisecond)
	got := collect(t, reader)
	require.ElementsMatch(t, []string{"grpc.testing.TestService/UnaryCall", "other"}, got["grpc.server.call.duration"],
		"twenty unknown methods, one series")
	require.Len(t, got["grpc.client.attempt.duration"], 21, "a client records the methods it called")
	for _, name := range []string{
		"grpc.server.call.started", "grpc.server.call.sent_total_compressed_message_size",
		"grpc.client.attempt.started", "grpc.client.call.duration", "grpc.client.attempt.rcvd_total_compressed_message_size",
		"h2rpc.server.stream.duration", "h2rpc.client.stream.time_to_first_byte",
	} {
		require.NotEmpty(t, got[name], name)
	}
}
