// Package recovery turns a panicking server handler into an INTERNAL status
// and logs the panic with its stack, so that one bad call never takes the
// process down and the client gets a proper gRPC error.
package recovery
