// Package otelpeer tests h2rpc's OpenTelemetry integration and its
// validation errors with grpc-go's own peers: a grpc-go client instrumented
// with otelgrpc calling an h2rpc server instrumented with otelh2rpc (and the
// other way round) must produce spans of one trace, and the field
// violations of interceptors/validate must reach a grpc-go client. It is a
// module of its own so that grpc-go never enters h2rpc's dependency graph.
package otelpeer
