// Command routeguide shows the four kinds of calls: GetFeature (unary),
// ListFeatures (server stream), RecordRoute (client stream) and RouteChat
// (bidirectional). With no flags a server and a client run in this process
// over loopback; -server and -client run one half each.
//
//	go run ./examples/routeguide
//	go run ./examples/routeguide -server -addr localhost:50052
//	go run ./examples/routeguide -client -addr localhost:50052
package main
