package otelh2rpc_test

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/h2rpc/h2rpc/otelh2rpc"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type emptyService struct {
	testpb.UnimplementedTestServiceServer
}

func (emptyService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

// A server and a client instrumented with OpenTelemetry. A real program
// installs an SDK with exporters (otel.SetTracerProvider and
// otel.SetMeterProvider, then no options are needed); this one keeps the
// spans in memory to show them.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())

	srv := rpc.NewServer(rpc.StatsHandlerOption(otelh2rpc.NewServerHandler(otelh2rpc.WithTracerProvider(tp))))
	testpb.RegisterTestServiceServer(srv, emptyService{})
	l := rpc.NewInMemoryListener()
	go srv.Serve(l)
	defer srv.Stop()

	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial),
		rpc.WithStatsHandler(otelh2rpc.NewClientHandler(otelh2rpc.WithTracerProvider(tp))))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	if _, err := testpb.NewTestServiceClient(cc).EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		panic(err)
	}

	// The server ends its span once the stream has closed.
	for deadline := time.Now().Add(5 * time.Second); len(spans.GetSpans()) < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	got := spans.GetSpans()
	var lines []string
	for _, s := range got {
		lines = append(lines, fmt.Sprintf("%s %s", s.SpanKind, s.Name))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println("same trace:", got[0].SpanContext.TraceID() == got[1].SpanContext.TraceID())
	// Output:
	// client grpc.testing.TestService/EmptyCall
	// server grpc.testing.TestService/EmptyCall
	// same trace: true
}

// The gRFC A66 metrics of a client, read from an SDK MeterProvider.
func ExampleWithMeterProvider() {
	reader := metric.NewManualReader()
	mp := metric.NewMeterProvider(metric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	srv := rpc.NewServer()
	testpb.RegisterTestServiceServer(srv, emptyService{})
	l := rpc.NewInMemoryListener()
	go srv.Serve(l)
	defer srv.Stop()
	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial),
		rpc.WithStatsHandler(otelh2rpc.NewClientHandler(otelh2rpc.WithMeterProvider(mp))))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	if _, err := testpb.NewTestServiceClient(cc).EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		panic(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// grpc.client.attempt.duration
	// grpc.client.attempt.rcvd_total_compressed_message_size
	// grpc.client.attempt.sent_total_compressed_message_size
	// grpc.client.attempt.started
	// grpc.client.call.duration
}
