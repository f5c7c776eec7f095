package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	echopb "github.com/h2rpc/h2rpc/proto/examples/echo"
	"github.com/h2rpc/h2rpc/rpc"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tutorial:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := rpc.NewServer()
	echopb.RegisterEchoServer(srv, echoServer{})
	go srv.Serve(lis)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	cc, err := rpc.NewClient(lis.Addr().String(), rpc.WithInsecure())
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return talk(ctx, echopb.NewEchoClient(cc), out)
}
