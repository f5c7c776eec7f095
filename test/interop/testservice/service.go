package testservice

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// The metadata keys the "Echo Metadata" server feature echoes back.
const (
	EchoInitialKey  = "x-grpc-test-echo-initial"
	EchoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

// Limits that keep a hostile request from making the server allocate or
// queue without bound; the interop cases stay far below them.
const (
	// MaxResponseSize bounds one response payload.
	MaxResponseSize = 16 << 20
	// MaxHalfDuplexResponses bounds the responses HalfDuplexCall holds back
	// until the client half-closes.
	MaxHalfDuplexResponses = 10000
)

// Server is the interop TestService. The zero value is ready to use.
// UnimplementedCall stays unimplemented on purpose: the unimplemented_method
// case expects UNIMPLEMENTED from it.
type Server struct {
	testpb.UnimplementedTestServiceServer
}

// New returns a TestService implementation.
func New() *Server { return &Server{} }

// Register registers the TestService on s. UnimplementedService is not
// registered, so that calls to it fail with UNIMPLEMENTED.
func Register(s rpc.ServiceRegistrar) {
	testpb.RegisterTestServiceServer(s, New())
}

// echoMetadata returns the header and trailer metadata to send back for the
// request metadata in ctx; either is nil when the client did not ask.
func echoMetadata(ctx context.Context) (header, trailer metadata.MD) {
	if v := metadata.ValueFromIncomingContext(ctx, EchoInitialKey); len(v) > 0 {
		header = metadata.MD{EchoInitialKey: append([]string(nil), v...)}
	}
	if v := metadata.ValueFromIncomingContext(ctx, EchoTrailingKey); len(v) > 0 {
		trailer = metadata.MD{EchoTrailingKey: append([]string(nil), v...)}
	}
	return header, trailer
}

// statusError turns a requested response_status into the error to end the
// call with, or nil when the request asks for OK.
func statusError(s *testpb.EchoStatus) error {
	if s == nil || s.GetCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(s.GetCode()), s.GetMessage())
}

// payload builds a zero-filled payload of the requested type and size.
func payload(t testpb.PayloadType, size int32) (*testpb.Payload, error) {
	if t != testpb.PayloadType_COMPRESSABLE {
		return nil, status.Errorf(codes.InvalidArgument, "unsupported response_type %v", t)
	}
	if size < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "negative response size %d", size)
	}
	if size > MaxResponseSize {
		return nil, status.Errorf(codes.InvalidArgument, "response size %d exceeds this server's limit of %d bytes", size, MaxResponseSize)
	}
	return &testpb.Payload{Type: t, Body: make([]byte, size)}, nil
}

// EmptyCall answers at once with an empty message.
func (Server) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

// UnaryCall answers with a payload of response_size zero bytes, echoing
// metadata and the requested status.
func (Server) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	header, trailer := echoMetadata(ctx)
	if header != nil {
		if err := rpc.SetHeader(ctx, header); err != nil {
			return nil, err
		}
	}
	if trailer != nil {
		if err := rpc.SetTrailer(ctx, trailer); err != nil {
			return nil, err
		}
	}
	if err := statusError(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	p, err := payload(req.GetResponseType(), req.GetResponseSize())
	if err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Payload: p}, nil
}

// CacheableUnaryCall answers with the current time in nanoseconds, so that
// every response differs, and headers that let a caching proxy keep it.
func (Server) CacheableUnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := rpc.SetHeader(ctx, metadata.Pairs("cache-control", "max-age=60, public")); err != nil {
		return nil, err
	}
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: []byte(now)}}, nil
}

// startStream sends the echoed header at once (clients may wait for it
// before sending) and sets the echoed trailer.
func startStream(ss rpc.ServerStream) error {
	header, trailer := echoMetadata(ss.Context())
	if header != nil {
		if err := ss.SendHeader(header); err != nil {
			return err
		}
	}
	if trailer != nil {
		ss.SetTrailer(trailer)
	}
	return nil
}

// respond sends one response per parameter, each after its interval
// (which accumulates from one response to the next, as the descriptions say).
func respond(ss rpc.ServerStreamingServer[testpb.StreamingOutputCallResponse], t testpb.PayloadType, params []*testpb.ResponseParameters) error {
	for _, p := range params {
		if err := sleep(ss.Context(), p.GetIntervalUs()); err != nil {
			return err
		}
		body, err := payload(t, p.GetSize())
		if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: body}); err != nil {
			return err
		}
	}
	return nil
}

// sleep waits us microseconds, or less when the call ends first.
func sleep(ctx context.Context, us int32) error {
	if us < 0 {
		return status.Errorf(codes.InvalidArgument, "negative interval_us %d", us)
	}
	if us == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(us) * time.Microsecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// StreamingOutputCall answers one request with a stream of responses.
func (Server) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss rpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := startStream(ss); err != nil {
		return err
	}
	if err := statusError(req.GetResponseStatus()); err != nil {
		return err
	}
	return respond(ss, req.GetResponseType(), req.GetResponseParameters())
}

// StreamingInputCall sums the request payload sizes until the client
// half-closes.
func (Server) StreamingInputCall(ss rpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	if err := startStream(ss); err != nil {
		return err
	}
	var sum int64
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		sum += int64(len(req.GetPayload().GetBody()))
		if sum > 1<<31-1 {
			return status.Error(codes.OutOfRange, "aggregated payload size overflows int32")
		}
	}
	return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(sum)})
}

// FullDuplexCall answers each request as soon as it arrives.
func (Server) FullDuplexCall(ss rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := startStream(ss); err != nil {
		return err
	}
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		// A requested status ends the call; later requests are not read.
		if err := statusError(req.GetResponseStatus()); err != nil {
			return err
		}
		if err := respond(ss, req.GetResponseType(), req.GetResponseParameters()); err != nil {
			return err
		}
	}
}

// HalfDuplexCall holds the requests back until the client half-closes, then
// answers them in order.
func (Server) HalfDuplexCall(ss rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := startStream(ss); err != nil {
		return err
	}
	var held []*testpb.StreamingOutputCallRequest
	n := 0
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := statusError(req.GetResponseStatus()); err != nil {
			return err
		}
		n += len(req.GetResponseParameters())
		if n > MaxHalfDuplexResponses {
			return status.Errorf(codes.ResourceExhausted, "more than %d responses requested before half-close", MaxHalfDuplexResponses)
		}
		held = append(held, req)
	}
	for _, req := range held {
		if err := respond(ss, req.GetResponseType(), req.GetResponseParameters()); err != nil {
			return err
		}
	}
	return nil
}
