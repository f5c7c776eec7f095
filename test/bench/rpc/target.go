package main

import (
	"context"
	"fmt"
	"net"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// maxStreams is raised on both servers so that the idle-streams case fits
// (h2rpc's default is 1000).
const maxStreams = 4000

// bidi is the client side of a FullDuplexCall in either framework.
type bidi interface {
	Send(*testpb.StreamingOutputCallRequest) error
	Recv() (*testpb.StreamingOutputCallResponse, error)
	CloseSend() error
}

// target is one framework's client and server, connected over loopback
// by one connection.
type target interface {
	Name() string
	Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
	StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (recv func() (*testpb.StreamingOutputCallResponse, error), err error)
	Duplex(ctx context.Context) (bidi, error)
	Close()
}

// frameworks lists the targets in table order: ours first.
var frameworks = []struct {
	name  string
	start func() (target, error)
}{
	{"h2rpc", startH2RPC},
	{"grpc-go", startGRPC},
}

type h2rpcTarget struct {
	srv *rpc.Server
	cc  *rpc.ClientConn
	c   testpb.TestServiceClient
}

func startH2RPC() (target, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := rpc.NewServer(rpc.MaxConcurrentStreams(maxStreams))
	testpb.RegisterTestServiceServer(srv, h2rpcService{})
	go func() { _ = srv.Serve(l) }()
	cc, err := rpc.NewClient(l.Addr().String())
	if err != nil {
		srv.Stop()
		return nil, err
	}
	return &h2rpcTarget{srv: srv, cc: cc, c: testpb.NewTestServiceClient(cc)}, nil
}

func (*h2rpcTarget) Name() string { return "h2rpc" }

func (t *h2rpcTarget) Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return t.c.UnaryCall(ctx, req)
}

func (t *h2rpcTarget) StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (func() (*testpb.StreamingOutputCallResponse, error), error) {
	s, err := t.c.StreamingOutputCall(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.Recv, nil
}

func (t *h2rpcTarget) Duplex(ctx context.Context) (bidi, error) {
	return t.c.FullDuplexCall(ctx)
}

func (t *h2rpcTarget) Close() {
	_ = t.cc.Close()
	t.srv.Stop()
}

type grpcTarget struct {
	srv *grpc.Server
	cc  *grpc.ClientConn
}

func startGRPC() (target, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(grpc.MaxConcurrentStreams(maxStreams))
	srv.RegisterService(&grpcServiceDesc, grpcService{})
	go func() { _ = srv.Serve(l) }()
	cc, err := grpc.NewClient("passthrough:///"+l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("grpc.NewClient: %w", err)
	}
	return &grpcTarget{srv: srv, cc: cc}, nil
}

func (*grpcTarget) Name() string { return "grpc-go" }

func (t *grpcTarget) Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	out := new(testpb.SimpleResponse)
	if err := t.cc.Invoke(ctx, testpb.TestService_UnaryCall_FullMethodName, req, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *grpcTarget) StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (func() (*testpb.StreamingOutputCallResponse, error), error) {
	s, err := t.cc.NewStream(ctx, grpcStreamOutDesc, testpb.TestService_StreamingOutputCall_FullMethodName)
	if err != nil {
		return nil, err
	}
	x := &grpc.GenericClientStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ClientStream: s}
	if err := x.SendMsg(req); err != nil {
		return nil, err
	}
	if err := x.CloseSend(); err != nil {
		return nil, err
	}
	return x.Recv, nil
}

func (t *grpcTarget) Duplex(ctx context.Context) (bidi, error) {
	s, err := t.cc.NewStream(ctx, grpcDuplexDesc, testpb.TestService_FullDuplexCall_FullMethodName)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ClientStream: s}, nil
}

func (t *grpcTarget) Close() {
	_ = t.cc.Close()
	t.srv.Stop()
}
