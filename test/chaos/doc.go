// Package chaos is h2rpc's chaos suite: servers and clients in separate
// processes, killed and restarted, behind impaired and blackholed networks,
// soaked, and crowded with never-reading and idle connections, each scenario
// asserting the failure contract of docs/chaos.md.
//
// The scenarios need root (network namespaces, veth pairs) and take minutes,
// so they sit behind the build tag "chaos" and stay out of a plain
// `go test ./...`, which runs only the forwarder's unit tests. Run them with
//
//	bash test/chaos/run.sh          # short variant, about 3 minutes
//	bash test/chaos/run.sh -full    # full variant
//
// or from this directory with `go test -tags chaos -run . -v [-full]`.
// The suite builds the servers under cmd/ into a temporary directory:
// cmd/h2rpcserver serves the interop TestService and health with h2rpc,
// cmd/grpcserver serves health and grpc-go's own interop TestService with
// grpc-go (the side-by-side references); both expose their Go heap, goroutines, RSS and open files on
// a small HTTP endpoint. The test process is the client. The kernel here
// has no netem qdisc, so network impairments are made by package forwarder,
// a TCP forwarder of the suite's own; blackholes are real: the server's
// veth link is taken down.
package chaos
