// Command tutorial is the program README's tutorial builds: an Echo server
// with a unary, a server-streaming and a bidirectional method, and a client
// that calls each, both in this process over loopback.
//
//	go run ./examples/tutorial
package main
