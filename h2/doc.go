// Package h2 is a standalone HTTP/2 implementation (RFC 9113) with HPACK (RFC 7541)
// header compression, for clients and servers over TCP (h2c with prior knowledge),
// TLS (ALPN "h2") or any net.Conn.
//
// Its API follows Node's http2 core API in Go idioms: a Session per connection
// (Dial on the client, Server on the server) with Ping, UpdateSettings, GoAway,
// Close, State and Stats; a Stream per request that is an io.Reader and an
// io.Writer with flow-control backpressure, trailers, informational headers,
// resets with codes and priorities.
//
// Each session runs exactly two goroutines: a reader that owns frame decoding,
// the HPACK decoder and inbound state, and a writer that owns the output buffer,
// the HPACK encoder and the write scheduler. Everything that reaches the wire goes
// through the writer's queue, which it drains fully before one write syscall.
// Handlers run in their own goroutine per stream. The reader wakes the streams
// and starts the handlers a read batch concerns once, when the batch is done
// and without the session lock (read_wake.go). Header lists that repeat are
// neither HPACK-encoded again by the writer (hpack_memo.go) nor decoded again
// by the reader (hpack_memo_decode.go) while the dynamic table stands.
//
// Large bodies are not copied more than needed: a large Write lends its slice to
// the writer, which over TCP hands it to the kernel with writev (vectored.go), and
// inbound DATA is copied straight into a waiting Read's buffer; ReadFramed does
// so for a whole length-prefixed unit with a single wake-up (read_framed.go),
// and ReadFramedInPlace lets a frame larger than the read buffer go from the
// connection into that buffer without a copy of ours (read_inplace.go).
//
// Any net/http handler can be served over the engine (Server.HTTP, or
// HTTPHandler as an h2.Handler): the handler gets a real *http.Request and an
// http.ResponseWriter, pooled per stream (http_*.go). With AllowHTTP1 the same
// port also serves HTTP/1.x clients through net/http's own HTTP/1 server
// (http1.go).
//
// Every resource a peer can make us spend is bounded by an option with a safe
// default (Limits): streams, header sizes, queued control frames, pings, resets,
// empty frames and buffered bytes. A peer that exceeds one is sent GOAWAY with
// ENHANCE_YOUR_CALM or the RFC's error code and disconnected, while other
// sessions keep being served.
package h2
