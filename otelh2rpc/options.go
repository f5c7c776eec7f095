package otelh2rpc

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names this package's tracer and meter.
const instrumentationName = "github.com/h2rpc/h2rpc/otelh2rpc"

// Option configures a handler.
type Option func(*config)

type config struct {
	tp    trace.TracerProvider
	mp    metric.MeterProvider
	props propagation.TextMapPropagator
}

func newConfig(opts []Option) config {
	c := config{
		tp: otel.GetTracerProvider(),
		mp: otel.GetMeterProvider(),
		// W3C by default rather than the global propagator: the global
		// one propagates nothing until the application sets it, and trace
		// context that silently stops at the first hop is the usual
		// surprise of a first OpenTelemetry setup.
		props: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithTracerProvider records spans with tp instead of the global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider records metrics with mp instead of the global provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagators carries trace context and baggage in metadata with p
// instead of W3C traceparent, tracestate and baggage (pass
// otel.GetTextMapPropagator() to follow the global one).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.props = p }
}
