package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// grpc-go has no stubs for our testpb package, and importing its own
// grpc.testing stubs would register the same proto names twice, so the
// service descriptor is written by hand over the same message types.

type grpcBenchServer interface {
	isGRPCBench()
}

type grpcService struct{}

func (grpcService) isGRPCBench() {}

type (
	grpcOutStream = grpc.GenericServerStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]
	grpcInStream  = grpc.GenericServerStream[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]
)

var grpcServiceDesc = grpc.ServiceDesc{
	ServiceName: "grpc.testing.TestService",
	HandlerType: (*grpcBenchServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "UnaryCall",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(testpb.SimpleRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			return unaryCall(in)
		},
	}},
	Streams: []grpc.StreamDesc{
		{
			StreamName:    "StreamingOutputCall",
			ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				in := new(testpb.StreamingOutputCallRequest)
				if err := ss.RecvMsg(in); err != nil {
					return err
				}
				return streamOut(ss.Context(), in, (&grpcOutStream{ServerStream: ss}).Send)
			},
		},
		{
			StreamName:    "StreamingInputCall",
			ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				s := &grpcInStream{ServerStream: ss}
				resp, err := streamIn(s.Recv)
				if err != nil {
					return err
				}
				return s.SendAndClose(resp)
			},
		},
		{
			StreamName:    "FullDuplexCall",
			ServerStreams: true,
			ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				s := &grpcOutStream{ServerStream: ss}
				return duplex(s.Recv, s.Send)
			},
		},
	},
	Metadata: "grpc/testing/test.proto",
}

var (
	grpcStreamOutDesc = &grpcServiceDesc.Streams[0]
	grpcStreamInDesc  = &grpcServiceDesc.Streams[1]
	grpcDuplexDesc    = &grpcServiceDesc.Streams[2]
)

type grpcServer struct {
	srv  *grpc.Server
	addr string
}

func (s *grpcServer) Addr() string { return s.addr }
func (s *grpcServer) Stop()        { s.srv.Stop() }

func serveGRPC(tc *tls.Config) (server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	opts := []grpc.ServerOption{grpc.MaxConcurrentStreams(maxStreams)}
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpcServiceDesc, grpcService{})
	go func() { _ = srv.Serve(l) }()
	return &grpcServer{srv: srv, addr: l.Addr().String()}, nil
}

type grpcClient struct {
	cc *grpc.ClientConn
}

func dialGRPC(addr string, tc *tls.Config) (client, error) {
	creds := insecure.NewCredentials()
	if tc != nil {
		creds = credentials.NewTLS(tc)
	}
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("grpc.NewClient: %w", err)
	}
	return &grpcClient{cc: cc}, nil
}

func (c *grpcClient) Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	out := new(testpb.SimpleResponse)
	if err := c.cc.Invoke(ctx, testpb.TestService_UnaryCall_FullMethodName, req, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *grpcClient) StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (func() (*testpb.StreamingOutputCallResponse, error), error) {
	s, err := c.cc.NewStream(ctx, grpcStreamOutDesc, testpb.TestService_StreamingOutputCall_FullMethodName)
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

func (c *grpcClient) StreamIn(ctx context.Context) (upload, error) {
	s, err := c.cc.NewStream(ctx, grpcStreamInDesc, testpb.TestService_StreamingInputCall_FullMethodName)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]{ClientStream: s}, nil
}

func (c *grpcClient) Duplex(ctx context.Context) (bidi, error) {
	s, err := c.cc.NewStream(ctx, grpcDuplexDesc, testpb.TestService_FullDuplexCall_FullMethodName)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ClientStream: s}, nil
}

func (c *grpcClient) Close() { _ = c.cc.Close() }
