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
	// transport: also record what only h2rpc's transport measures.
	transport bool
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

// WithTransportMetrics also records three histograms that only h2rpc's
// transport can fill, with the same attributes as the call durations:
// h2rpc.<side>.stream.time_to_first_byte (from opening the call's HTTP/2
// stream to the peer's first DATA byte), h2rpc.<side>.stream.duration (how
// long the stream was open) and h2rpc.<side>.connection.ping_rtt (the
// connection's last ping round trip, sampled as each call ends), in
// seconds, where <side> is client or server. Each is left out for a call
// where it was not measured (no DATA came, no ping yet).
func WithTransportMetrics() Option {
	return func(c *config) { c.transport = true }
}
