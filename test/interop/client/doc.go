// Command client is the h2rpc gRPC interop test client: it runs the interop
// test cases against any gRPC server with the flags other languages' clients take.
package main
