// Package rpcstatus holds generated Go code for the google.rpc.Status message that carries rich gRPC errors.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package rpcstatus
