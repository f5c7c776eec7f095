package main

import (
	"context"
	"errors"
	"io"

	echopb "github.com/h2rpc/h2rpc/proto/examples/echo"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// echoServer implements echopb.EchoServer: one method of each shape.
type echoServer struct {
	echopb.UnimplementedEchoServer
}

// Say is a unary method: one request, one response or an error.
func (echoServer) Say(_ context.Context, req *echopb.SayRequest) (*echopb.SayResponse, error) {
	if req.GetText() == "" {
		return nil, status.Error(codes.InvalidArgument, "text must not be empty")
	}
	return &echopb.SayResponse{Text: req.GetText()}, nil
}

// Count streams responses; returning ends the call with OK.
func (echoServer) Count(req *echopb.CountRequest, stream rpc.ServerStreamingServer[echopb.CountResponse]) error {
	if req.GetN() < 0 || req.GetN() > 1000 {
		return status.Errorf(codes.OutOfRange, "n must be within 0..1000, got %d", req.GetN())
	}
	for i := int32(1); i <= req.GetN(); i++ {
		if err := stream.Send(&echopb.CountResponse{Number: i}); err != nil {
			return err // the client went away
		}
	}
	return nil
}

// Chat answers each message as it arrives, until the client closes its side.
func (echoServer) Chat(stream rpc.BidiStreamingServer[echopb.SayRequest, echopb.SayResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&echopb.SayResponse{Text: "you said: " + req.GetText()}); err != nil {
			return err
		}
	}
}
