// Package depcheck holds only a test: the core packages, h2 and rpc, must
// depend on nothing beyond the standard library, google.golang.org/protobuf
// and golang.org/x/net, so that the dependencies other packages bring
// (OpenTelemetry, protovalidate, x/time) cost a program nothing unless it
// imports those packages.
package depcheck
