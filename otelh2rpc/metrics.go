package otelh2rpc

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Bucket boundaries gRFC A66 recommends, in seconds and bytes.
var (
	latencyBuckets = []float64{0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002,
		0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065,
		0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100}
	sizeBuckets = []float64{0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304,
		16777216, 67108864, 268435456, 1073741824, 4294967296}
)

// instruments are one side's A66 metrics.
type instruments struct {
	started  metric.Int64Counter
	duration metric.Float64Histogram // attempt (client) or call (server) duration
	sent     metric.Int64Histogram
	rcvd     metric.Int64Histogram
	call     metric.Float64Histogram // client only: the call's duration

	// WithTransportMetrics only.
	ttfb, stream, ping metric.Float64Histogram
}

func newInstruments(mp metric.MeterProvider, client, transport bool) instruments {
	m := mp.Meter(instrumentationName)
	prefix, unit, counted := "grpc.server.call.", "call", "calls"
	if client {
		prefix, unit, counted = "grpc.client.attempt.", "attempt", "attempts"
	}
	var in instruments
	in.started = counter(m, prefix+"started", "{"+unit+"}", "Number of "+counted+" started.")
	in.duration = seconds(m, prefix+"duration", "Duration of each "+unit+", from its start to its status.")
	in.sent = bytes(m, prefix+"sent_total_compressed_message_size",
		"Compressed message bytes sent per "+unit+", framing excluded.")
	in.rcvd = bytes(m, prefix+"rcvd_total_compressed_message_size",
		"Compressed message bytes received per "+unit+", framing excluded.")
	if client {
		in.call = seconds(m, "grpc.client.call.duration", "Duration of each call as the application saw it.")
	}
	if transport {
		side := "h2rpc.server."
		if client {
			side = "h2rpc.client."
		}
		in.ttfb = seconds(m, side+"stream.time_to_first_byte", "Time from opening a call's HTTP/2 stream to the peer's first DATA byte.")
		in.stream = seconds(m, side+"stream.duration", "How long a call's HTTP/2 stream was open.")
		in.ping = seconds(m, side+"connection.ping_rtt", "The connection's last ping round trip, sampled as each call ends.")
	}
	return in
}

// The constructors report a failed registration to OpenTelemetry's error
// handler and record nothing for that instrument, as the API intends:
// metrics must never fail a call.

func counter(m metric.Meter, name, unit, desc string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil || c == nil {
		otel.Handle(err)
		return noop.Int64Counter{}
	}
	return c
}

func seconds(m metric.Meter, name, desc string) metric.Float64Histogram {
	h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(latencyBuckets...))
	if err != nil || h == nil {
		otel.Handle(err)
		return noop.Float64Histogram{}
	}
	return h
}

func bytes(m metric.Meter, name, desc string) metric.Int64Histogram {
	h, err := m.Int64Histogram(name, metric.WithUnit("By"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(sizeBuckets...))
	if err != nil || h == nil {
		otel.Handle(err)
		return noop.Int64Histogram{}
	}
	return h
}
