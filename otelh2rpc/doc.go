// Package otelh2rpc instruments h2rpc servers and clients with
// OpenTelemetry: a span per call on each side, trace context and baggage
// carried in the call's metadata, and the gRPC metrics of gRFC A66 (the
// names grpc-go's stats/opentelemetry records).
//
// Install it as a stats handler, on the server and on the client:
//
//	srv := rpc.NewServer(rpc.StatsHandlerOption(otelh2rpc.NewServerHandler()))
//	cc, err := rpc.NewClient(target, rpc.WithInsecure(), rpc.WithStatsHandler(otelh2rpc.NewClientHandler()))
//
// It speaks only to the OpenTelemetry API: spans and metrics go to the
// global TracerProvider and MeterProvider (otel.SetTracerProvider,
// otel.SetMeterProvider) unless WithTracerProvider and WithMeterProvider
// name others, and the application chooses the SDK and exporters. Trace
// context travels as W3C traceparent and tracestate, and baggage as W3C
// baggage, unless WithPropagators says otherwise. A program that installs
// no handler pays nothing: the h2rpc runtime does not import this package.
//
// Spans are named "pkg.Service/Method" and carry the attributes of the
// OpenTelemetry RPC semantic conventions (semconv v1.30): rpc.system "grpc",
// rpc.service, rpc.method, rpc.grpc.status_code, server.address and
// server.port, network.peer.address and network.peer.port. A client span
// fails for any status but OK; a server span only for the codes the
// conventions count as server errors (UNKNOWN, DEADLINE_EXCEEDED,
// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS).
//
// Metrics (units s and By, the bucket boundaries A66 recommends):
//
//	grpc.client.attempt.started                            grpc.method, grpc.target
//	grpc.client.attempt.duration                           grpc.method, grpc.target, grpc.status
//	grpc.client.attempt.sent_total_compressed_message_size grpc.method, grpc.target, grpc.status
//	grpc.client.attempt.rcvd_total_compressed_message_size grpc.method, grpc.target, grpc.status
//	grpc.client.call.duration                              grpc.method, grpc.target, grpc.status
//	grpc.server.call.started                               grpc.method
//	grpc.server.call.sent_total_compressed_message_size    grpc.method, grpc.status
//	grpc.server.call.rcvd_total_compressed_message_size    grpc.method, grpc.status
//	grpc.server.call.duration                              grpc.method, grpc.status
//
// grpc.method is "pkg.Service/Method"; on a server, a method no service
// registered is recorded as "other", so that peers cannot create series at
// will. grpc.status is the code's name ("OK", "NOT_FOUND"). The h2rpc
// client retries a call only when the server never processed it, inside
// the one call, so a call is one attempt here: attempt and call durations
// agree.
package otelh2rpc
