// Package testcases holds the client side of the gRPC interop test cases
// (empty_unary ... unimplemented_service), each checking exactly what the
// interop test descriptions ask, so any gRPC server can be tested with them.
package testcases
