// Package reflectionv1alphapb holds generated Go code for the older grpc.reflection.v1alpha server reflection service, still used by some tools.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package reflectionv1alphapb
