// Package rpc is an RPC runtime that speaks the gRPC wire protocol over the
// h2 HTTP/2 engine: servers, clients, all four kinds of calls, interceptors,
// deadlines, metadata, compression and limits.
//
// The API mirrors grpc-go (Server, ClientConn, CallOption, ServiceDesc,
// interceptors, typed generic streams) so that generated code and user code
// migrate by renaming. Unary calls run on the streaming path: one code path
// for all four kinds. Per-call state lives in one struct per side, message
// buffers come from size-classed pools (one for sending, one for receiving),
// and a call with no metadata and no deadline allocates nothing for them.
//
// Layout: envelope.go (5-byte message framing and limits), bufpool.go
// (message buffers), codec*.go (codecs by content-subtype: proto, JSON,
// RegisterCodec), compress.go (registry, pooled gzip),
// timeout.go and percent.go (header encodings), server*.go, client*.go,
// interceptor.go, calloption.go, peer.go, stats.go (StatsHandler),
// stats_events.go (its optional per-step and connection events),
// connectivity.go, generic.go (typed streams), inmem.go (in-memory listener
// for tests). rpc/status encodes google.rpc.Status itself, so the runtime
// registers no protobuf names that grpc-go also registers.
package rpc
