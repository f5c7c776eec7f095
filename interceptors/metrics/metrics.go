package metrics

import (
	"github.com/h2rpc/h2rpc/otelh2rpc"
	"github.com/h2rpc/h2rpc/rpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// NewServerHandler records a server's calls with mp (nil: the global
// MeterProvider). Install it with rpc.StatsHandlerOption.
func NewServerHandler(mp metric.MeterProvider) rpc.StatsHandler {
	return otelh2rpc.NewServerHandler(options(mp)...)
}

// NewClientHandler records a client's calls with mp (nil: the global
// MeterProvider). Install it with rpc.WithStatsHandler.
func NewClientHandler(mp metric.MeterProvider) rpc.StatsHandler {
	return otelh2rpc.NewClientHandler(options(mp)...)
}

// options make otelh2rpc record metrics only: no spans, and no trace
// context read from or written into metadata.
func options(mp metric.MeterProvider) []otelh2rpc.Option {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return []otelh2rpc.Option{
		otelh2rpc.WithMeterProvider(mp),
		otelh2rpc.WithTracerProvider(tracenoop.NewTracerProvider()),
		otelh2rpc.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelh2rpc.WithTransportMetrics(),
	}
}
