// Command xnet is the golang.org/x/net/http2 competitor of the h2 benchmark:
// an h2c server (prior knowledge) with the same routes as examples/h2/server.
// It lives in its own module so x/net's server never enters the library's
// dependency graph.
package main
