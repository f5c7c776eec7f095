// Package healthpb holds generated Go code for the standard grpc.health.v1 health checking service.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package healthpb
