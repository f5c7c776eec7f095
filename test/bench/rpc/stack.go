package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// maxStreams is raised on every server so that the idle-streams case fits
// on one connection.
const maxStreams = 12000

// bidi is the client side of a FullDuplexCall in any stack.
type bidi interface {
	Send(*testpb.StreamingOutputCallRequest) error
	Recv() (*testpb.StreamingOutputCallResponse, error)
	CloseSend() error
}

// upload is the client side of a StreamingInputCall in any stack.
type upload interface {
	Send(*testpb.StreamingInputCallRequest) error
	CloseAndRecv() (*testpb.StreamingInputCallResponse, error)
}

// client is one connection of a stack's client to its server.
type client interface {
	Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
	// StreamOut opens a StreamingOutputCall; recv returns io.EOF at its end.
	StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (recv func() (*testpb.StreamingOutputCallResponse, error), err error)
	StreamIn(ctx context.Context) (upload, error)
	Duplex(ctx context.Context) (bidi, error)
	Close()
}

// server is a stack's server listening on loopback.
type server interface {
	Addr() string
	Stop()
}

// stack is one RPC implementation: how to serve and how to dial, each with
// TLS when tc is not nil (the server's and the client's configuration come
// from the same testCert).
type stack struct {
	name  string
	serve func(tc *tls.Config) (server, error)
	dial  func(addr string, tc *tls.Config) (client, error)
}

// Stack names, ours first; tcpFloor is the bare-TCP pseudo-stack of the
// floor cases.
const (
	ours     = "h2rpc"
	grpcGo   = "grpc-go"
	connGo   = "connect-go"
	tcpFloor = "tcp"
)

// stacks lists the RPC stacks in table order.
var stacks = []stack{
	{ours, serveH2RPC, dialH2RPC},
	{grpcGo, serveGRPC, dialGRPC},
	{connGo, serveConnect, dialConnect},
}

func stackByName(name string) (stack, bool) {
	i := slices.IndexFunc(stacks, func(s stack) bool { return s.name == name })
	if i < 0 {
		return stack{}, false
	}
	return stacks[i], true
}

// target is a started server and one client connected to it.
type target struct {
	client
	srv server
}

// start serves st (over TLS when useTLS) and dials it once.
func start(st stack, useTLS bool) (*target, error) {
	var stc, ctc *tls.Config
	if useTLS {
		cert, err := testCert()
		if err != nil {
			return nil, err
		}
		stc, ctc = cert.server, cert.client
	}
	srv, err := st.serve(stc)
	if err != nil {
		return nil, fmt.Errorf("%s: serve: %w", st.name, err)
	}
	c, err := st.dial(srv.Addr(), ctc)
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("%s: dial: %w", st.name, err)
	}
	return &target{client: c, srv: srv}, nil
}

func (t *target) Close() {
	t.client.Close()
	t.srv.Stop()
}
