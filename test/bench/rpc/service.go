package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// The benchmark service is grpc.testing.TestService reduced to the four
// methods the cases use. Its logic is shared by every stack so that only the
// stacks differ. It builds a fresh response, with a freshly allocated
// payload, for every message it sends, as a user's handler does; only the
// legacy endless stream reuses one response (see streamOut).

const maxPayload = 4 << 20

var zeroBuf = make([]byte, maxPayload)

func checkSize(size int32) error {
	if size < 0 || size > maxPayload {
		return fmt.Errorf("payload size %d out of range", size)
	}
	return nil
}

// freshBody allocates the payload of one message.
func freshBody(size int32) ([]byte, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	return make([]byte, size), nil
}

func unaryCall(req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	b, err := freshBody(req.GetResponseSize())
	if err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: b}}, nil
}

// streamOut serves StreamingOutputCall. Two response parameters, the
// matrix's form, mean "send parameters[1].Size messages of
// parameters[0].Size bytes, each built fresh, then end the stream". One
// parameter is the legacy case: one response, reused, sent until the client
// cancels.
func streamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest, send func(*testpb.StreamingOutputCallResponse) error) error {
	p := req.GetResponseParameters()
	switch len(p) {
	case 1:
		return streamEndless(ctx, p[0].GetSize(), send)
	case 2:
		size, count := p[0].GetSize(), p[1].GetSize()
		if err := checkSize(size); err != nil {
			return err
		}
		for range count {
			b := make([]byte, size)
			if err := send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: b}}); err != nil {
				return err
			}
		}
		return nil
	default:
		return errors.New("want one (endless) or two (size, count) response parameters")
	}
}

func streamEndless(ctx context.Context, size int32, send func(*testpb.StreamingOutputCallResponse) error) error {
	if err := checkSize(size); err != nil {
		return err
	}
	resp := &testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: zeroBuf[:size]}}
	for ctx.Err() == nil {
		if err := send(resp); err != nil {
			return err
		}
	}
	return nil
}

// streamIn serves StreamingInputCall: it reads to the end and answers with
// the number of payload bytes received.
func streamIn(recv func() (*testpb.StreamingInputCallRequest, error)) (*testpb.StreamingInputCallResponse, error) {
	var total int64
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return &testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(min(total, 1<<31-1))}, nil
		}
		if err != nil {
			return nil, err
		}
		total += int64(len(m.GetPayload().GetBody()))
	}
}

// duplex answers each request with one fresh response of the requested
// size, as soon as the request arrives.
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
		b, err := freshBody(size)
		if err != nil {
			return err
		}
		if err := send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: b}}); err != nil {
			return err
		}
	}
}
