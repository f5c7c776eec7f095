// Package testservice implements grpc.testing.TestService as the gRPC interop
// test descriptions require of a server, for the interop server and the tests.
package testservice
