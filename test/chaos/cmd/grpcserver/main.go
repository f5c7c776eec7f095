// Command grpcserver is the chaos suite's grpc-go server, the reference in
// the side-by-side comparisons: health and grpc-go's own interop
// TestService on -listen, process statistics on -stats, and the same
// "ready rpc=ADDR stats=ADDR" line as h2rpcserver.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/h2rpc/h2rpc/test/chaos/internal/procstat"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address of the RPC listener")
	stats := flag.String("stats", "127.0.0.1:0", "address of the statistics endpoint")
	flag.Parse()
	if err := run(*listen, *stats); err != nil {
		fmt.Fprintln(os.Stderr, "grpcserver:", err)
		os.Exit(1)
	}
}

func run(listen, stats string) error {
	l, sl, err := procstat.Listen(listen, stats)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	healthgrpc.RegisterHealthServer(srv, health.NewServer())
	testgrpc.RegisterTestServiceServer(srv, interop.NewTestServer())
	fmt.Printf("ready rpc=%s stats=%s\n", l.Addr(), sl.Addr())
	return srv.Serve(l)
}
