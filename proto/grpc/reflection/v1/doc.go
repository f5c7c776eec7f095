// Package reflectionpb holds generated Go code for the grpc.reflection.v1 server reflection service.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package reflectionpb
