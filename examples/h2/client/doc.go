// Command client is the h2 example client: it sends one request to -url
// (http:// for h2c, https:// for TLS), prints the body on stdout and, with -v,
// the status, headers and trailers on stderr. It also measures a ping round
// trip and closes the session gracefully, like the Node examples.
package main
