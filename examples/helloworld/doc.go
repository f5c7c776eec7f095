// Command helloworld is the smallest h2rpc program: a Greeter server and a
// client calling it. With no flags both run in this process over loopback
// and the reply is printed; -server and -client run one half each.
//
//	go run ./examples/helloworld
//	go run ./examples/helloworld -server -addr localhost:50051
//	go run ./examples/helloworld -client -addr localhost:50051 -name you
package main
