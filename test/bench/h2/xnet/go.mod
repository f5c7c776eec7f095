module github.com/h2rpc/h2rpc/test/bench/h2/xnet

go 1.26.0

require golang.org/x/net v0.62.0

require golang.org/x/text v0.43.0 // indirect
