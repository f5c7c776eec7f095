// Package rpc is an RPC runtime that speaks the gRPC wire protocol over the
// h2 HTTP/2 engine: servers, clients, all four kinds of calls, interceptors,
// deadlines, metadata, compression and limits.
package rpc
