package main

import (
	"context"
	"errors"
	"io"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/grpc"
)

// The benchmark service is grpc.testing.TestService reduced to the three
// methods the cases use. The logic is shared by both frameworks so that only
// the frameworks differ; payloads are slices of one read-only zero buffer,
// so the service itself allocates nothing per message beyond the response
// struct.

const maxPayload = 4 << 20

var zeroBuf = make([]byte, maxPayload)

func body(size int32) ([]byte, error) {
	if size < 0 || size > maxPayload {
		return nil, errors.New("payload size out of range")
	}
	return zeroBuf[:size], nil
}

func unaryCall(req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	b, err := body(req.GetResponseSize())
	if err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: b}}, nil
}

// streamOut sends messages of the first parameter's size until the client
// cancels: the streaming case counts how many arrive in its window.
func streamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest, send func(*testpb.StreamingOutputCallResponse) error) error {
	if len(req.GetResponseParameters()) == 0 {
		return errors.New("no response parameters")
	}
	b, err := body(req.GetResponseParameters()[0].GetSize())
	if err != nil {
		return err
	}
	resp := &testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: b}}
	for ctx.Err() == nil {
		if err := send(resp); err != nil {
			return err
		}
	}
	return nil
}

// duplex answers each request with one response of the requested size.
func duplex(recv func() (*testpb.StreamingOutputCallRequest, error), send func(*testpb.StreamingOutputCallResponse) error) error {
	for {
		req, err := recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var size int32
		if p := req.GetResponseParameters(); len(p) > 0 {
			size = p[0].GetSize()
		}
		b, err := body(size)
		if err != nil {
			return err
		}
		if err := send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: b}}); err != nil {
			return err
		}
	}
}

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

func (h2rpcService) FullDuplexCall(ss rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	return duplex(ss.Recv, ss.Send)
}

// grpc-go has no stubs for our testpb package, and importing its own
// grpc.testing stubs would register the same proto names twice, so the
// service descriptor is written by hand over the same message types.

type grpcBenchServer interface {
	isGRPCBench()
}

type grpcService struct{}

func (grpcService) isGRPCBench() {}

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
				return streamOut(ss.Context(), in, func(m *testpb.StreamingOutputCallResponse) error { return ss.SendMsg(m) })
			},
		},
		{
			StreamName:    "FullDuplexCall",
			ServerStreams: true,
			ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				s := &grpc.GenericServerStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ServerStream: ss}
				return duplex(s.Recv, s.Send)
			},
		},
	},
	Metadata: "grpc/testing/test.proto",
}

var (
	grpcStreamOutDesc = &grpcServiceDesc.Streams[0]
	grpcDuplexDesc    = &grpcServiceDesc.Streams[1]
)
