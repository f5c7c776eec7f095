package testcases

import (
	"context"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
	"github.com/stretchr/testify/require"
)

// Servers that each break one rule, to show the cases notice.

type shortUnary struct{ testservice.Server }

func (shortUnary) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if req.GetResponseStatus() != nil {
		return testservice.New().UnaryCall(ctx, req)
	}
	return &testpb.SimpleResponse{Payload: zeros(int(req.GetResponseSize()) - 1)}, nil
}

type noEcho struct{ testservice.Server }

func (noEcho) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: zeros(int(req.GetResponseSize()))}, nil
}

type trimmedStatus struct{ testservice.Server }

func (trimmedStatus) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return nil, status.Error(codes.Code(req.GetResponseStatus().GetCode()), "trimmed")
}

type wrongSum struct{ testservice.Server }

func (wrongSum) StreamingInputCall(ss rpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: 1})
}

type fewerStreamed struct{ testservice.Server }

func (fewerStreamed) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss rpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	req.ResponseParameters = req.ResponseParameters[1:]
	return testservice.New().StreamingOutputCall(req, ss)
}

type chattyDuplex struct{ testservice.Server }

func (chattyDuplex) FullDuplexCall(ss rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	return testservice.New().FullDuplexCall(ss)
}

type implementsAll struct{ testservice.Server }

func (implementsAll) UnimplementedCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

type unimplementedServiceImpl struct {
	testpb.UnimplementedUnimplementedServiceServer
}

func (unimplementedServiceImpl) UnimplementedCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

type failingEmpty struct{ testservice.Server }

func (failingEmpty) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return nil, status.Error(codes.Internal, "broken")
}

func TestCasesFailAgainstBrokenServers(t *testing.T) {
	tests := []struct {
		name     string
		impl     testpb.TestServiceServer
		extra    func(*rpc.Server)
		failing  []string
		contains string
	}{
		{"failing empty", failingEmpty{}, nil, []string{"empty_unary"}, "broken"},
		{"short unary payload", shortUnary{}, nil, []string{"large_unary", "custom_metadata"}, "payload is 314158 bytes, want 314159"},
		{"no metadata echo", noEcho{}, nil, []string{"custom_metadata"}, "header x-grpc-test-echo-initial"},
		{"status message replaced", trimmedStatus{}, nil, []string{"status_code_and_message", "special_status_message"}, `status message "trimmed"`},
		{"wrong aggregated size", wrongSum{}, nil, []string{"client_streaming"}, "aggregated_payload_size 1, want 74922"},
		{"missing streamed response", fewerStreamed{}, nil, []string{"server_streaming"}, "want 31415"},
		{"extra duplex response", chattyDuplex{}, nil, []string{"ping_pong", "empty_stream"}, "want"},
		{"UnimplementedCall implemented", implementsAll{}, nil, []string{"unimplemented_method"}, "call succeeded"},
		{"UnimplementedService registered", testservice.New(), func(s *rpc.Server) {
			testpb.RegisterUnimplementedServiceServer(s, unimplementedServiceImpl{})
		}, []string{"unimplemented_service"}, "call succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := serve(t, func(s *rpc.Server) {
				testpb.RegisterTestServiceServer(s, tt.impl)
				if tt.extra != nil {
					tt.extra(s)
				}
			})
			for _, name := range tt.failing {
				c, ok := Lookup(name)
				require.True(t, ok, name)
				err := Run(context.Background(), cc, c, 10*time.Second)
				require.Error(t, err, name)
				require.Contains(t, err.Error(), tt.contains, name)
			}
		})
	}
}
