// Command observability serves a Greeter instrumented with OpenTelemetry
// (package otelh2rpc) and exposes its metrics to Prometheus through
// OpenTelemetry's Prometheus exporter: the gRFC A66 metrics, e.g.
// grpc_server_call_duration_seconds{grpc_method="helloworld.Greeter/SayHello",grpc_status="OK"},
// and h2rpc's transport metrics. A client in the same process greets once
// a second so that there is something to see.
//
//	go run ./examples/observability
//	curl -s localhost:9464/metrics | grep grpc_
//
// Spans go to the global TracerProvider: install an SDK with the exporter
// of your choice (otel.SetTracerProvider) to send them somewhere.
package main
