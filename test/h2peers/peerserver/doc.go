// Command peerserver is an h2 server for run.sh's server-initiated checks with
// Node's http2 client (node_server_side.mjs): a PING and a SETTINGS update from
// the server, and a graceful Shutdown with a stream in flight. It listens on a
// free port, prints "listening PORT", and after a Shutdown prints its result
// and exits.
package main
