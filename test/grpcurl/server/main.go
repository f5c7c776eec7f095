package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/services/reflection"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on; the chosen one is printed on stdout")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "grpcurl test server:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := rpc.NewServer()
	testservice.Register(srv)
	hs := health.Register(srv)
	hs.SetServingStatus("grpc.testing.TestService", health.Serving)
	reflection.Register(srv)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // health reports NOT_SERVING first (registered with srv)
	}()

	// The script reads the address from the first line.
	fmt.Println(l.Addr().String())
	if err := srv.Serve(l); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
		return err
	}
	return nil
}
