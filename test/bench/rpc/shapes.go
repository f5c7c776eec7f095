package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// The shapes of the matrix, as users run them: the client opens the call,
// builds a fresh request for every message, reads the answer to its end,
// and counts on its side; the server builds a fresh response for every
// message (service.go).

func unaryReq(size int) *testpb.SimpleRequest {
	return &testpb.SimpleRequest{ResponseSize: int32(size), Payload: &testpb.Payload{Body: make([]byte, size)}}
}

func unaryOnce(ctx context.Context, c client, size int) error {
	resp, err := c.Unary(ctx, unaryReq(size))
	if err != nil {
		return err
	}
	if got := len(resp.GetPayload().GetBody()); got != size {
		return fmt.Errorf("unary response of %d bytes, want %d", got, size)
	}
	return nil
}

// unaryLatency makes unary calls of size bytes one at a time: p50, p99,
// calls/s and allocations per call.
func unaryLatency(size int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		return latencyWindow(ctx, e.tm, func(ctx context.Context) error { return unaryOnce(ctx, e.t, size) })
	}
}

// unaryConcurrent makes unary calls of size bytes (request and response)
// from conc goroutines over the one connection: calls/s.
func unaryConcurrent(size, conc int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		t, err := window(ctx, e.tm, e.scale(conc, smokeConc), nil, func(ctx context.Context, _ int, done func(int)) error {
			if err := unaryOnce(ctx, e.t, size); err != nil {
				return err
			}
			done(1)
			return nil
		})
		return t.metrics(), err
	}
}

// serverStreams runs conc concurrent server streams, each of count
// messages of size bytes read to the end: messages/s.
func serverStreams(conc, count, size int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		count := e.scale(count, smokeMsgs)
		t, err := window(ctx, e.tm, e.scale(conc, smokeConc), nil, func(ctx context.Context, _ int, done func(int)) error {
			req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(size)}, {Size: int32(count)}}}
			recv, err := e.t.StreamOut(ctx, req)
			if err != nil {
				return err
			}
			for got := 0; ; got++ {
				m, err := recv()
				if errors.Is(err, io.EOF) {
					if got != count {
						return fmt.Errorf("server stream ended after %d messages, want %d", got, count)
					}
					return nil
				}
				if err != nil {
					return err
				}
				if n := len(m.GetPayload().GetBody()); n != size {
					return fmt.Errorf("streamed message of %d bytes, want %d", n, size)
				}
				done(1)
			}
		})
		return t.metrics(), err
	}
}

// clientStreams runs conc concurrent client streams, each sending count
// fresh messages of size bytes and then waiting for the server's total:
// messages/s, counted as each send returns.
func clientStreams(conc, count, size int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		count := e.scale(count, smokeMsgs)
		t, err := window(ctx, e.tm, e.scale(conc, smokeConc), nil, func(ctx context.Context, _ int, done func(int)) error {
			s, err := e.t.StreamIn(ctx)
			if err != nil {
				return err
			}
			for range count {
				if err := s.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, size)}}); err != nil {
					return err
				}
				done(1)
			}
			resp, err := s.CloseAndRecv()
			if err != nil {
				return err
			}
			if want := int32(count * size); resp.GetAggregatedPayloadSize() != want {
				return fmt.Errorf("server received %d bytes, want %d", resp.GetAggregatedPayloadSize(), want)
			}
			return nil
		})
		return t.metrics(), err
	}
}

func echoReq(size int) *testpb.StreamingOutputCallRequest {
	return &testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{Size: int32(size)}},
		Payload:            &testpb.Payload{Body: make([]byte, size)},
	}
}

func recvSized(s bidi, size int) error {
	m, err := s.Recv()
	if err != nil {
		return err
	}
	if n := len(m.GetPayload().GetBody()); n != size {
		return fmt.Errorf("response of %d bytes, want %d", n, size)
	}
	return nil
}

// endStream half-closes s and reads it to its end.
func endStream(s bidi) error {
	if err := s.CloseSend(); err != nil {
		return err
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("bidi stream did not end cleanly: %w", err)
	}
	return nil
}

// pingPong opens a bidi stream, makes trips round trips of size bytes each
// way on it, one at a time, and ends it: round trips/s.
func pingPong(size, trips int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		trips := e.scale(trips, smokeMsgs)
		t, err := window(ctx, e.tm, 1, nil, func(ctx context.Context, _ int, done func(int)) error {
			s, err := e.t.Duplex(ctx)
			if err != nil {
				return err
			}
			for range trips {
				if err := s.Send(echoReq(size)); err != nil {
					return err
				}
				if err := recvSized(s, size); err != nil {
					return err
				}
				done(1)
			}
			return endStream(s)
		})
		return t.metrics(), err
	}
}

// fullDuplex opens a bidi stream whose client sends count messages of size
// bytes without waiting while it reads the server's answers as they come:
// messages/s each way.
func fullDuplex(size, count int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		count := e.scale(count, smokeMsgs)
		t, err := window(ctx, e.tm, 1, nil, func(ctx context.Context, _ int, done func(int)) error {
			s, err := e.t.Duplex(ctx)
			if err != nil {
				return err
			}
			var sendErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				for range count {
					if sendErr = s.Send(echoReq(size)); sendErr != nil {
						return
					}
				}
				sendErr = s.CloseSend()
			})
			var recvErr error
			for range count {
				if recvErr = recvSized(s, size); recvErr != nil {
					break
				}
				done(1)
			}
			if recvErr == nil {
				if _, err := s.Recv(); !errors.Is(err, io.EOF) {
					recvErr = fmt.Errorf("bidi stream did not end cleanly: %w", err)
				}
			}
			wg.Wait()
			return errors.Join(sendErr, recvErr)
		})
		return t.metrics(), err
	}
}
