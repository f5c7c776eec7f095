// Package proto holds the .proto files of h2rpc with the Go code generated
// from them beside each one. All of it is regenerated, without protoc, by
//
//	go generate ./proto/...
//
// and codegen's tests fail when the committed code is stale.
package proto
