// Command protoc-gen-h2rpc generates h2rpc client and server stubs. Run by
// protoc (or buf) it is a plugin writing <file>_h2rpc.pb.go; run as
// "protoc-gen-h2rpc generate ..." it needs no protoc at all.
package main
