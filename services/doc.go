// Package services is the home of the standard gRPC services h2rpc ships:
// health (grpc.health.v1) and reflection (grpc.reflection.v1 and v1alpha).
package services
