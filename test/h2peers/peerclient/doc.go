// Command peerclient runs our h2 client against a real HTTP/2 server (nghttpd
// or the Node http2 server in node_server.mjs) and asserts exact results:
// bodies, trailers, ping, settings, 100 concurrent streams and a graceful
// close. It prints "ok NAME" per check, "FAIL NAME: why" on the first failure
// (then exits 1), and is used by run.sh.
package main
