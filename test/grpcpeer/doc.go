// Package grpcpeer tests h2rpc's health and reflection services with
// grpc-go's own clients. It is a module of its own so that grpc-go never
// enters h2rpc's dependency graph.
package grpcpeer
