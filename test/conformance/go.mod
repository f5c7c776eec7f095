module github.com/h2rpc/h2rpc/test/conformance

go 1.26.0

require (
	github.com/h2rpc/h2rpc v0.0.0
	google.golang.org/protobuf v1.36.12
)

require golang.org/x/net v0.62.0 // indirect

replace github.com/h2rpc/h2rpc => ../..
