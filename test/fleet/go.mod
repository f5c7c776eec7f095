module github.com/h2rpc/h2rpc/test/fleet

go 1.26.0

require (
	github.com/h2rpc/h2rpc v0.0.0
	github.com/stretchr/testify v1.12.1
	google.golang.org/protobuf v1.36.12
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.62.0 // indirect
)

replace github.com/h2rpc/h2rpc => ../..
