// Package helloworldpb holds generated Go code for the helloworld.Greeter example service.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package helloworldpb
