package testsrv

import (
	"context"
	"errors"
	"io"
	"testing"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Service is a TestService whose behaviour the request drives:
// a payload body "panic" panics, a response_status fails the call with it,
// anything else is echoed. Unary, when set, replaces UnaryCall.
type Service struct {
	testpb.UnimplementedTestServiceServer
	Unary func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
}

// UnaryCall echoes the payload.
func (s *Service) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if s.Unary != nil {
		return s.Unary(ctx, in)
	}
	if string(in.GetPayload().GetBody()) == "panic" {
		panic("testsrv: asked to panic")
	}
	if st := in.GetResponseStatus(); st != nil && st.GetCode() != 0 {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	return &testpb.SimpleResponse{Payload: in.GetPayload()}, nil
}

// EmptyCall answers at once.
func (s *Service) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

// FullDuplexCall echoes each request's payload; "panic" and a
// response_status behave as in UnaryCall.
func (s *Service) FullDuplexCall(stream rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if string(in.GetPayload().GetBody()) == "panic" {
			panic("testsrv: asked to panic")
		}
		if st := in.GetResponseStatus(); st != nil && st.GetCode() != 0 {
			return status.Error(codes.Code(st.GetCode()), st.GetMessage())
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: in.GetPayload()}); err != nil {
			return err
		}
	}
}

// Start serves svc with the server options and returns a client dialed
// with the dial options; both are stopped when the test ends.
func Start(t testing.TB, svc testpb.TestServiceServer, sopts []rpc.ServerOption, dopts ...rpc.DialOption) testpb.TestServiceClient {
	t.Helper()
	cc, _ := StartConn(t, svc, sopts, dopts...)
	return testpb.NewTestServiceClient(cc)
}

// StartConn is Start returning the connection and the server.
func StartConn(t testing.TB, svc testpb.TestServiceServer, sopts []rpc.ServerOption, dopts ...rpc.DialOption) (*rpc.ClientConn, *rpc.Server) {
	t.Helper()
	srv := rpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(srv, svc)
	l := rpc.NewInMemoryListener()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := rpc.NewClient("inmem", append([]rpc.DialOption{rpc.WithInsecure(), rpc.WithContextDialer(l.Dial)}, dopts...)...)
	if err != nil {
		t.Fatalf("testsrv: dial: %v", err)
	}
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		<-done
	})
	return cc, srv
}

// Body is a request payload with the text.
func Body(s string) *testpb.Payload { return &testpb.Payload{Body: []byte(s)} }
