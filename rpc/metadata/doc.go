// Package metadata holds the key/value pairs that travel with an RPC as
// HTTP/2 headers and trailers. Incoming (received) and outgoing (to send)
// metadata live under different context keys and never mix.
package metadata
