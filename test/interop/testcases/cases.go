package testcases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// The sizes and strings the interop test descriptions prescribe.
const (
	largeRequestSize  = 271828
	largeResponseSize = 314159

	echoInitialKey    = "x-grpc-test-echo-initial"
	echoInitialValue  = "test_initial_metadata_value"
	echoTrailingKey   = "x-grpc-test-echo-trailing-bin"
	echoTrailingValue = "\xab\xab\xab"

	statusMessage        = "test status message"
	specialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
)

var (
	requestSizes  = []int{27182, 8, 1828, 45904}
	responseSizes = []int{31415, 9, 2653, 58979}
)

// Case is one interop test case.
type Case struct {
	Name string
	Run  func(ctx context.Context, cc rpc.ClientConnInterface) error
}

// All lists the supported cases in the order --test_case=all runs them.
var All = []Case{
	{"empty_unary", emptyUnary},
	{"large_unary", largeUnary},
	{"client_streaming", clientStreaming},
	{"server_streaming", serverStreaming},
	{"ping_pong", pingPong},
	{"empty_stream", emptyStream},
	{"timeout_on_sleeping_server", timeoutOnSleepingServer},
	{"cancel_after_begin", cancelAfterBegin},
	{"cancel_after_first_response", cancelAfterFirstResponse},
	{"custom_metadata", customMetadata},
	{"status_code_and_message", statusCodeAndMessage},
	{"special_status_message", specialStatus},
	{"unimplemented_method", unimplementedMethod},
	{"unimplemented_service", unimplementedService},
}

// Lookup returns the case called name.
func Lookup(name string) (Case, bool) {
	for _, c := range All {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// Names returns the names of all cases.
func Names() []string {
	out := make([]string, len(All))
	for i, c := range All {
		out[i] = c.Name
	}
	return out
}

// Select resolves a --test_case value: "all", one name, or a comma-separated
// list. Unknown names are an error listing the known ones.
func Select(spec string) ([]Case, error) {
	if spec == "all" {
		return All, nil
	}
	var out []Case
	for name := range strings.SplitSeq(spec, ",") {
		c, ok := Lookup(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown test case %q (known: all, %s)", name, strings.Join(Names(), ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

// Run runs c with a time limit, so that a server that never answers fails
// the case instead of hanging it.
func Run(ctx context.Context, cc rpc.ClientConnInterface, c Case, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return c.Run(ctx, cc)
}

func zeros(n int) *testpb.Payload {
	return &testpb.Payload{Type: testpb.PayloadType_COMPRESSABLE, Body: make([]byte, n)}
}

// checkPayload checks that p is n zero bytes.
func checkPayload(what string, p *testpb.Payload, n int) error {
	body := p.GetBody()
	if len(body) != n {
		return fmt.Errorf("%s: payload is %d bytes, want %d", what, len(body), n)
	}
	if i := slices.IndexFunc(body, func(b byte) bool { return b != 0 }); i >= 0 {
		return fmt.Errorf("%s: payload byte %d is %#x, want zeros", what, i, body[i])
	}
	return nil
}

// checkCode checks that err is a status with code want (and message msg
// when msg is not nil).
func checkCode(what string, err error, want codes.Code, msg *string) error {
	if err == nil {
		return fmt.Errorf("%s: call succeeded, want status %v", what, want)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: error %v is not a status, want %v", what, err, want)
	}
	if st.Code() != want {
		return fmt.Errorf("%s: status %v (%q), want %v", what, st.Code(), st.Message(), want)
	}
	if msg != nil && st.Message() != *msg {
		return fmt.Errorf("%s: status message %q, want %q", what, st.Message(), *msg)
	}
	return nil
}

func emptyUnary(ctx context.Context, cc rpc.ClientConnInterface) error {
	resp, err := testpb.NewTestServiceClient(cc).EmptyCall(ctx, &testpb.Empty{})
	if err != nil {
		return fmt.Errorf("EmptyCall: %w", err)
	}
	if resp == nil {
		return errors.New("EmptyCall: nil response")
	}
	return nil
}

func largeUnaryRequest() *testpb.SimpleRequest {
	return &testpb.SimpleRequest{
		ResponseType: testpb.PayloadType_COMPRESSABLE,
		ResponseSize: largeResponseSize,
		Payload:      zeros(largeRequestSize),
	}
}

func largeUnary(ctx context.Context, cc rpc.ClientConnInterface) error {
	resp, err := testpb.NewTestServiceClient(cc).UnaryCall(ctx, largeUnaryRequest())
	if err != nil {
		return fmt.Errorf("UnaryCall: %w", err)
	}
	return checkPayload("UnaryCall", resp.GetPayload(), largeResponseSize)
}

func clientStreaming(ctx context.Context, cc rpc.ClientConnInterface) error {
	stream, err := testpb.NewTestServiceClient(cc).StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %w", err)
	}
	sum := 0
	for _, n := range requestSizes {
		err := stream.Send(&testpb.StreamingInputCallRequest{Payload: zeros(n)})
		if errors.Is(err, io.EOF) {
			// The server ended the call early: CloseAndRecv says how.
			break
		}
		if err != nil {
			return fmt.Errorf("StreamingInputCall: send %d bytes: %w", n, err)
		}
		sum += n
	}
	want := 0
	for _, n := range requestSizes {
		want += n
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %w", err)
	}
	if got := int(resp.GetAggregatedPayloadSize()); got != want || sum != want {
		return fmt.Errorf("StreamingInputCall: aggregated_payload_size %d, want %d (%d bytes sent)", got, want, sum)
	}
	return nil
}

func serverStreaming(ctx context.Context, cc rpc.ClientConnInterface) error {
	req := &testpb.StreamingOutputCallRequest{ResponseType: testpb.PayloadType_COMPRESSABLE}
	for _, n := range responseSizes {
		req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: int32(n)})
	}
	stream, err := testpb.NewTestServiceClient(cc).StreamingOutputCall(ctx, req)
	if err != nil {
		return fmt.Errorf("StreamingOutputCall: %w", err)
	}
	for i := 0; ; i++ {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if i != len(responseSizes) {
				return fmt.Errorf("StreamingOutputCall: %d responses, want %d", i, len(responseSizes))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("StreamingOutputCall: response %d: %w", i, err)
		}
		if i >= len(responseSizes) {
			return fmt.Errorf("StreamingOutputCall: more than %d responses", len(responseSizes))
		}
		if err := checkPayload(fmt.Sprintf("StreamingOutputCall response %d", i), resp.GetPayload(), responseSizes[i]); err != nil {
			return err
		}
	}
}

// drain reads a stream to its end and returns the number of extra messages
// and the final error (nil for OK).
func drain[Req, Res any](stream rpc.BidiStreamingClient[Req, Res]) (int, error) {
	for n := 0; ; n++ {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
	}
}

func pingPong(ctx context.Context, cc rpc.ClientConnInterface) error {
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %w", err)
	}
	for i, n := range requestSizes {
		req := &testpb.StreamingOutputCallRequest{
			ResponseType:       testpb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*testpb.ResponseParameters{{Size: int32(responseSizes[i])}},
			Payload:            zeros(n),
		}
		if err := stream.Send(req); err != nil {
			return fmt.Errorf("FullDuplexCall: send %d: %w", i, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("FullDuplexCall: response %d: %w", i, err)
		}
		if err := checkPayload(fmt.Sprintf("FullDuplexCall response %d", i), resp.GetPayload(), responseSizes[i]); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %w", err)
	}
	extra, err := drain(stream)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: end: %w", err)
	}
	if extra != 0 {
		return fmt.Errorf("FullDuplexCall: %d responses, want %d", len(requestSizes)+extra, len(requestSizes))
	}
	return nil
}

func emptyStream(ctx context.Context, cc rpc.ClientConnInterface) error {
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %w", err)
	}
	n, err := drain(stream)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %w", err)
	}
	if n != 0 {
		return fmt.Errorf("FullDuplexCall: %d responses, want none", n)
	}
	return nil
}
