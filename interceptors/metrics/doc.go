// Package metrics records RPC metrics through the OpenTelemetry metric
// API, without traces: the gRFC A66 metrics of otelh2rpc (grpc.server.call.*,
// grpc.client.attempt.*, grpc.client.call.duration) plus what only h2rpc's
// transport measures (h2rpc.<side>.stream.time_to_first_byte,
// h2rpc.<side>.stream.duration, h2rpc.<side>.connection.ping_rtt).
//
// Install the handlers as the server's and the client's stats handler, and
// give them the MeterProvider of your OpenTelemetry SDK; its exporter
// decides where the metrics go (examples/observability serves them to
// Prometheus with OpenTelemetry's Prometheus exporter):
//
//	srv := rpc.NewServer(rpc.StatsHandlerOption(metrics.NewServerHandler(mp)))
//	cc, err := rpc.NewClient(target, rpc.WithTLS(cfg), rpc.WithStatsHandler(metrics.NewClientHandler(mp)))
//
// For spans as well, install otelh2rpc's handlers with
// otelh2rpc.WithTransportMetrics instead: they record the same metrics.
// Calls to methods the server has not registered share one series,
// grpc.method="other", so clients cannot create series at will.
package metrics
