// Package codegen generates h2rpc client and server stubs from protobuf
// service definitions, as a protoc plugin or, without protoc, from .proto
// files compiled in-process (see Generate).
package codegen
