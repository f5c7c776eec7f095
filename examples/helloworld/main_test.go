package main

import (
	"bytes"
	"context"
	"net"
	"testing"

	pb "github.com/h2rpc/h2rpc/proto/examples/helloworld"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func TestDemoPrintsTheReply(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runDemo(context.Background(), "tester", &out))
	require.Equal(t, "Hello, tester!\n", out.String())
}

func TestSeparateServerAndClient(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, lis) }()

	var out bytes.Buffer
	require.NoError(t, runClient(context.Background(), lis.Addr().String(), "again", &out))
	require.Equal(t, "Hello, again!\n", out.String())

	// An empty name is rejected with InvalidArgument, end to end.
	_, err = greet(context.Background(), lis.Addr().String(), "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)

	cancel()
	require.NoError(t, <-served)
}

func TestGreeterRejectsEmptyName(t *testing.T) {
	_, err := greeter{}.SayHello(context.Background(), &pb.HelloRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}
