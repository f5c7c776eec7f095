// Package etcdserverpb holds generated Go code for the part of etcd's v3 API the etcd resolver uses.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package etcdserverpb
