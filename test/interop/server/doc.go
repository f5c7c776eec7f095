// Command server is the h2rpc gRPC interop test server: it serves
// grpc.testing.TestService with the flags other languages' interop servers take.
package main
