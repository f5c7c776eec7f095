package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	pb "github.com/h2rpc/h2rpc/proto/examples/routeguide"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/services/reflection"
)

func main() {
	serverOnly := flag.Bool("server", false, "only run the server, listening on -addr")
	clientOnly := flag.Bool("client", false, "only run the client, calling the server at -addr")
	addr := flag.String("addr", "localhost:50052", "server address for -server and -client")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case *serverOnly && *clientOnly:
		err = errors.New("-server and -client exclude each other; give neither to run both in one process")
	case *serverOnly:
		err = runServer(ctx, *addr, os.Stdout)
	case *clientOnly:
		err = runClient(ctx, *addr, os.Stdout)
	default:
		err = runDemo(ctx, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "routeguide:", err)
		os.Exit(1)
	}
}

// serve runs a RouteGuide server on lis until ctx ends, then shuts it down
// gracefully.
func serve(ctx context.Context, lis net.Listener) error {
	srv := rpc.NewServer()
	pb.RegisterRouteGuideServer(srv, newRouteGuide())
	health.Register(srv)
	reflection.Register(srv) // so grpcurl can list and call it
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-done; serveErr != nil && !errors.Is(serveErr, rpc.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

func runServer(ctx context.Context, addr string, out io.Writer) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "route guide listening on", lis.Addr())
	return serve(ctx, lis)
}

// runDemo starts a server on a free loopback port, runs the client tour
// against it and stops it.
func runDemo(ctx context.Context, out io.Writer) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, lis) }()
	callErr := runClient(ctx, lis.Addr().String(), out)
	cancel()
	return errors.Join(callErr, <-served)
}
