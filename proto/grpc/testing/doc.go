// Package testpb holds generated Go code for the grpc.testing interoperability test messages and services.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package testpb
