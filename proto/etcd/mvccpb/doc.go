// Package mvccpb holds generated Go code for etcd's key-value and event messages.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package mvccpb
