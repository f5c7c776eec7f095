// Command rpcbench measures h2rpc against grpc-go and connect-go in one run,
// client and server in one process over loopback, on the grpc.testing
// messages: the benchmark matrix of issue 13 (unary, server, client and bidi
// streaming, TLS, allocations, memory per idle connection and stream, a
// bare-TCP floor, and proto floors that do the large-message shapes' work
// with no framework), as users run it: the client opens each call, both sides
// build fresh messages, the client reads to the end and counts. It prints
// one markdown table with the ratios against the project's goals and, under
// each large-message case and the 1 KiB ping-pong, each stack's and each
// goal's share of its floor; the floors those rows read, and unary c=1's
// TCP floor, run beside their case in every round.
package main
