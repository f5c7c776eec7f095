// Package etcd finds servers through etcd: servers register their address
// under a lease (Register), and clients dial "etcd:///SERVICE" with this
// package's resolver, which lists the addresses under the service's key
// prefix and watches it, so that a server that registers is used at once
// and one that leaves (or dies: its lease expires) is dropped. It talks to
// etcd's v3 gRPC API with an rpc.ClientConn and stubs generated from
// etcd's .proto files, and is written only against rpc/resolver's public
// API, as any resolver outside h2rpc would be.
package etcd
