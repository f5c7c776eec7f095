package main

import (
	"context"
	"crypto/tls"
	"net"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// h2rpcService serves the benchmark over h2rpc through the generated stubs.
type h2rpcService struct {
	testpb.UnimplementedTestServiceServer
}

func (h2rpcService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	resp, err := unaryCall(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return resp, nil
}

func (h2rpcService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss rpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	return streamOut(ss.Context(), req, ss.Send)
}

func (h2rpcService) StreamingInputCall(ss rpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	resp, err := streamIn(ss.Recv)
	if err != nil {
		return err
	}
	return ss.SendAndClose(resp)
}

func (h2rpcService) FullDuplexCall(ss rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	return duplex(ss.Recv, ss.Send)
}

type h2rpcServer struct {
	srv  *rpc.Server
	addr string
}

func (s *h2rpcServer) Addr() string { return s.addr }
func (s *h2rpcServer) Stop()        { s.srv.Stop() }

func serveH2RPC(tc *tls.Config) (server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	opts := []rpc.ServerOption{rpc.MaxConcurrentStreams(maxStreams)}
	if tc != nil {
		opts = append(opts, rpc.Creds(tc))
	}
	srv := rpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(srv, h2rpcService{})
	go func() { _ = srv.Serve(l) }()
	return &h2rpcServer{srv: srv, addr: l.Addr().String()}, nil
}

type h2rpcClient struct {
	cc *rpc.ClientConn
	c  testpb.TestServiceClient
}

func dialH2RPC(addr string, tc *tls.Config) (client, error) {
	var opts []rpc.DialOption
	if tc != nil {
		opts = append(opts, rpc.WithTLS(tc))
	}
	cc, err := rpc.NewClient(addr, append([]rpc.DialOption{rpc.WithInsecure()}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &h2rpcClient{cc: cc, c: testpb.NewTestServiceClient(cc)}, nil
}

func (c *h2rpcClient) Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return c.c.UnaryCall(ctx, req)
}

func (c *h2rpcClient) StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (func() (*testpb.StreamingOutputCallResponse, error), error) {
	s, err := c.c.StreamingOutputCall(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.Recv, nil
}

func (c *h2rpcClient) StreamIn(ctx context.Context) (upload, error) {
	return c.c.StreamingInputCall(ctx)
}

func (c *h2rpcClient) Duplex(ctx context.Context) (bidi, error) {
	return c.c.FullDuplexCall(ctx)
}

func (c *h2rpcClient) Close() { _ = c.cc.Close() }
