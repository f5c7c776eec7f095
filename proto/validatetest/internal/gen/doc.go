// Command gen generates validatetest's Go code with h2rpc's protoc-free
// generator, resolving buf/validate/validate.proto from the descriptor its
// Go package registers. go generate runs it in proto/validatetest.
package main
