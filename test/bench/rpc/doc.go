// Command rpcbench measures h2rpc against grpc-go in one run, client and
// server in one process over loopback, on the grpc.testing messages, and
// prints a markdown table of the ratios against the project's goals.
package main
