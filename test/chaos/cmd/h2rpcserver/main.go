// Command h2rpcserver is the chaos suite's h2rpc server: the interop
// TestService and health on -listen, process statistics on -stats. It
// prints one line "ready rpc=ADDR stats=ADDR" once both listen, and on
// SIGTERM shuts down gracefully (rpc.Server.Shutdown, -grace at most).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/test/chaos/internal/procstat"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address of the RPC listener")
	stats := flag.String("stats", "127.0.0.1:0", "address of the statistics endpoint")
	grace := flag.Duration("grace", 10*time.Second, "how long a graceful shutdown may take")
	flag.Parse()
	if err := run(*listen, *stats, *grace); err != nil {
		fmt.Fprintln(os.Stderr, "h2rpcserver:", err)
		os.Exit(1)
	}
}

func run(listen, stats string, grace time.Duration) error {
	l, sl, err := procstat.Listen(listen, stats)
	if err != nil {
		return err
	}
	srv := rpc.NewServer(
		// The suite's clients ping every 2 s to detect blackholes.
		rpc.KeepaliveEnforcementPolicy(rpc.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
	)
	testservice.Register(srv)
	health.Register(srv)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	drained := make(chan error, 1)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		drained <- srv.Shutdown(ctx)
	}()

	fmt.Printf("ready rpc=%s stats=%s\n", l.Addr(), sl.Addr())
	if err := srv.Serve(l); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
		return err
	}
	// Serve returns as soon as Shutdown begins; the process must live until
	// the calls in flight have finished.
	return <-drained
}
