package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	echopb "github.com/h2rpc/h2rpc/proto/examples/echo"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// newInMemoryClient serves echoServer on an in-process listener: the same
// HTTP/2 engine as over TCP, without a port. This is the tutorial's last step.
func newInMemoryClient(t *testing.T) echopb.EchoClient {
	t.Helper()
	l := rpc.NewInMemoryListener()
	srv := rpc.NewServer()
	echopb.RegisterEchoServer(srv, echoServer{})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return echopb.NewEchoClient(cc)
}

func TestTalkMakesOneCallOfEachShape(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, talk(ctx, newInMemoryClient(t), &out))
	require.Equal(t, "Say: hello\nCount: 1\nCount: 2\nCount: 3\nChat: you said: one\nChat: you said: two\n", out.String())
}

func TestSayRefusesEmptyText(t *testing.T) {
	_, err := newInMemoryClient(t).Say(context.Background(), &echopb.SayRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestCountRefusesOutOfRange(t *testing.T) {
	stream, err := newInMemoryClient(t).Count(context.Background(), &echopb.CountRequest{N: -1})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.OutOfRange, status.Code(err))
}

func TestRunOverLoopback(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	require.Contains(t, out.String(), "Chat: you said: two")
}
