// Package testsrv runs a grpc.testing.TestService over an in-memory
// listener, for the interceptor tests.
package testsrv
