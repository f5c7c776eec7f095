// Command transportclient runs h2.Transport, through a plain http.Client,
// against a real HTTP/2 server (nghttpd, h2o, Node's http2) and asserts exact
// results: files small and large, one shared session for concurrent requests,
// a streamed upload echoed back, trailers both ways, a cancellation. It prints
// "ok NAME" or "FAIL NAME: why" per check and exits 1 if any failed; used by
// transport.sh.
package main
