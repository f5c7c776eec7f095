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

	pb "github.com/h2rpc/h2rpc/proto/examples/helloworld"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/services/reflection"
)

func main() {
	serverOnly := flag.Bool("server", false, "only run the server, listening on -addr")
	clientOnly := flag.Bool("client", false, "only run the client, calling the server at -addr")
	addr := flag.String("addr", "localhost:50051", "server address for -server and -client")
	name := flag.String("name", "world", "the name to greet")
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
		err = runClient(ctx, *addr, *name, os.Stdout)
	default:
		err = runDemo(ctx, *name, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helloworld:", err)
		os.Exit(1)
	}
}

// greeter implements pb.GreeterServer. Embedding the Unimplemented type
// keeps it compiling if methods are added to the service.
type greeter struct {
	pb.UnimplementedGreeterServer
}

func (greeter) SayHello(_ context.Context, req *pb.HelloRequest) (*pb.HelloReply, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name must not be empty")
	}
	return &pb.HelloReply{Message: "Hello, " + req.GetName() + "!"}, nil
}

// serve runs a Greeter server on lis until ctx ends, then shuts it down
// gracefully.
func serve(ctx context.Context, lis net.Listener) error {
	srv := rpc.NewServer()
	pb.RegisterGreeterServer(srv, greeter{})
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
	fmt.Fprintln(out, "greeter listening on", lis.Addr())
	return serve(ctx, lis)
}

// greet dials addr and makes one SayHello call.
func greet(ctx context.Context, addr, name string) (string, error) {
	conn, err := dial(addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reply, err := pb.NewGreeterClient(conn).SayHello(ctx, &pb.HelloRequest{Name: name})
	if err != nil {
		return "", err
	}
	return reply.GetMessage(), nil
}

func runClient(ctx context.Context, addr, name string, out io.Writer) error {
	msg, err := greet(ctx, addr, name)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, msg)
	return nil
}

// runDemo starts a server on a free loopback port, calls it and stops it.
func runDemo(ctx context.Context, name string, out io.Writer) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, lis) }()
	callErr := runClient(ctx, lis.Addr().String(), name, out)
	cancel()
	return errors.Join(callErr, <-served)
}
