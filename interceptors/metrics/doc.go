// Package metrics measures RPCs on the server and the client (latency,
// message sizes, messages per call, by method and status code) and serves
// them in the Prometheus text format on an http.Handler. Names follow the
// OpenTelemetry RPC semantic conventions, converted the way OpenTelemetry's
// Prometheus exporter converts them: rpc.server.duration becomes
// rpc_server_duration_seconds, with labels rpc_system, rpc_service,
// rpc_method and rpc_grpc_status_code. Metrics.StatsHandler adds what only
// the transport sees (wire bytes, time to first byte, ping round trip)
// through rpc's stats hook.
package metrics
