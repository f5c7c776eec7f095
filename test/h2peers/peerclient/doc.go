// Command peerclient runs our h2 client against a real HTTP/2 server (nghttpd
// or the Node http2 server in node_server.mjs) and asserts exact results:
// bodies, HEAD, large header blocks, trailers both ways, resets, ping,
// settings, 100 concurrent streams and a graceful close. It prints "ok NAME"
// or "FAIL NAME: why" per check, exits 1 if any failed, and is used by run.sh.
package main
