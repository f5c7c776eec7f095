package testcases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
)

// This file holds the cases about deadlines, cancellation, metadata and
// status codes.

func timeoutOnSleepingServer(ctx context.Context, cc rpc.ClientConnInterface) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		// The deadline may pass before the stream is even open.
		return checkCode("FullDuplexCall", err, codes.DeadlineExceeded, nil)
	}
	req := &testpb.StreamingOutputCallRequest{Payload: zeros(27182)}
	// Sending may already see the end of the call; only the status matters.
	if err := stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		if cerr := checkCode("FullDuplexCall send", err, codes.DeadlineExceeded, nil); cerr != nil {
			return cerr
		}
	}
	_, err = stream.Recv()
	return checkCode("FullDuplexCall", err, codes.DeadlineExceeded, nil)
}

func cancelAfterBegin(ctx context.Context, cc rpc.ClientConnInterface) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := testpb.NewTestServiceClient(cc).StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %w", err)
	}
	cancel()
	_, err = stream.CloseAndRecv()
	return checkCode("StreamingInputCall", err, codes.Canceled, nil)
}

func cancelAfterFirstResponse(ctx context.Context, cc rpc.ClientConnInterface) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %w", err)
	}
	req := &testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 31415}},
		Payload:            zeros(27182),
	}
	if err := stream.Send(req); err != nil {
		return fmt.Errorf("FullDuplexCall: send: %w", err)
	}
	if _, err := stream.Recv(); err != nil {
		return fmt.Errorf("FullDuplexCall: first response: %w", err)
	}
	cancel()
	_, err = stream.Recv()
	return checkCode("FullDuplexCall", err, codes.Canceled, nil)
}

// checkEcho checks that the echoed metadata came back where it should.
func checkEcho(what string, header, trailer metadata.MD) error {
	if v := header[echoInitialKey]; len(v) != 1 || v[0] != echoInitialValue {
		return fmt.Errorf("%s: header %s = %q, want [%q]", what, echoInitialKey, v, echoInitialValue)
	}
	if v := trailer[echoTrailingKey]; len(v) != 1 || !bytes.Equal([]byte(v[0]), []byte(echoTrailingValue)) {
		return fmt.Errorf("%s: trailer %s = %q, want [%q]", what, echoTrailingKey, v, echoTrailingValue)
	}
	return nil
}

func customMetadata(ctx context.Context, cc rpc.ClientConnInterface) error {
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(echoInitialKey, echoInitialValue, echoTrailingKey, echoTrailingValue))
	client := testpb.NewTestServiceClient(cc)

	var header, trailer metadata.MD
	resp, err := client.UnaryCall(ctx, largeUnaryRequest(), rpc.Header(&header), rpc.Trailer(&trailer))
	if err != nil {
		return fmt.Errorf("UnaryCall: %w", err)
	}
	if err := checkPayload("UnaryCall", resp.GetPayload(), largeResponseSize); err != nil {
		return err
	}
	if err := checkEcho("UnaryCall", header, trailer); err != nil {
		return err
	}

	stream, err := client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %w", err)
	}
	req := &testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: largeResponseSize}},
		Payload:            zeros(largeRequestSize),
	}
	if err := stream.Send(req); err != nil {
		return fmt.Errorf("FullDuplexCall: send: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %w", err)
	}
	header, err = stream.Header()
	if err != nil {
		return fmt.Errorf("FullDuplexCall: header: %w", err)
	}
	resp2, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("FullDuplexCall: response: %w", err)
	}
	if err := checkPayload("FullDuplexCall", resp2.GetPayload(), largeResponseSize); err != nil {
		return err
	}
	if extra, err := drain(stream); err != nil || extra != 0 {
		return fmt.Errorf("FullDuplexCall: end: %d extra responses, error %v", extra, err)
	}
	return checkEcho("FullDuplexCall", header, stream.Trailer())
}

// checkStatusEcho asks for status UNKNOWN with msg, by unary and by
// full-duplex call, and checks both come back intact.
func checkStatusEcho(ctx context.Context, cc rpc.ClientConnInterface, msg string, bidi bool) error {
	client := testpb.NewTestServiceClient(cc)
	want := &testpb.EchoStatus{Code: int32(codes.Unknown), Message: msg}
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: want})
	if err := checkCode("UnaryCall", err, codes.Unknown, &msg); err != nil {
		return err
	}
	if !bidi {
		return nil
	}
	stream, err := client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %w", err)
	}
	if err := stream.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: want}); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("FullDuplexCall: send: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %w", err)
	}
	_, err = drain(stream)
	return checkCode("FullDuplexCall", err, codes.Unknown, &msg)
}

func statusCodeAndMessage(ctx context.Context, cc rpc.ClientConnInterface) error {
	return checkStatusEcho(ctx, cc, statusMessage, true)
}

func specialStatus(ctx context.Context, cc rpc.ClientConnInterface) error {
	return checkStatusEcho(ctx, cc, specialStatusMessage, false)
}

func unimplementedMethod(ctx context.Context, cc rpc.ClientConnInterface) error {
	_, err := testpb.NewTestServiceClient(cc).UnimplementedCall(ctx, &testpb.Empty{})
	return checkCode("TestService.UnimplementedCall", err, codes.Unimplemented, nil)
}

func unimplementedService(ctx context.Context, cc rpc.ClientConnInterface) error {
	_, err := testpb.NewUnimplementedServiceClient(cc).UnimplementedCall(ctx, &testpb.Empty{})
	return checkCode("UnimplementedService.UnimplementedCall", err, codes.Unimplemented, nil)
}
