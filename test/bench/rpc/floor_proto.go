package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"google.golang.org/protobuf/proto"
)

// The proto floors: the application-level work of the large-message shapes
// with no RPC framework, so that the table can say what share of what the
// machine can do at all each stack reaches there. Every message is built
// fresh with a freshly allocated payload (as service.go and shapes.go do),
// marshalled behind gRPC's 5-byte length prefix, written to a plain
// loopback TCP connection, read on the other side and unmarshalled into a
// fresh message whose payload size is checked. What is reused, as any stack
// may: per connection end, one write buffer the message is marshalled into
// and one read buffer of 256 KiB (grown to the message for 1 MiB ones) it
// is unmarshalled from; the unmarshalled payload is always a fresh copy
// (proto.Unmarshal does not alias its input).

// protoFloor is a loopback listener whose every accepted connection is
// served by serve, and conns client connections to it.
type protoFloor struct {
	l       net.Listener
	clients []*protoConn
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error // the servers' failures, other than their clients closing
}

func startProtoFloor(conns int, serve func(*protoConn) error) (*protoFloor, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &protoFloor{l: l}
	f.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() {
				defer c.Close()
				if err := serve(newProtoConn(c)); err != nil && !errors.Is(err, io.EOF) {
					f.mu.Lock()
					f.errs = append(f.errs, err)
					f.mu.Unlock()
				}
			})
		}
	})
	for range conns {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return nil, errors.Join(err, f.Close())
		}
		f.clients = append(f.clients, newProtoConn(c))
	}
	return f, nil
}

// Close closes the clients and the listener, waits for the servers to see
// the end, and returns their failures.
func (f *protoFloor) Close() error {
	for _, c := range f.clients {
		_ = c.c.Close()
	}
	_ = f.l.Close()
	f.wg.Wait()
	return errors.Join(f.errs...)
}

// runProtoFloor starts a floor of conns connections, runs one window of
// op (worker i on client connection i) over it and closes it.
func runProtoFloor(ctx context.Context, e *env, conns int, serve func(*protoConn) error, op func(c *protoConn) error) (map[string]float64, error) {
	f, err := startProtoFloor(conns, serve)
	if err != nil {
		return nil, err
	}
	t, err := window(ctx, e.tm, conns, nil, func(_ context.Context, i int, done func(int)) error {
		if err := op(f.clients[i]); err != nil {
			return err
		}
		done(1)
		return nil
	})
	// A server's failure closes its connection, so the client's error alone
	// would only say that the connection ended.
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, err
	}
	return t.metrics(), nil
}

func checkBody(what string, body []byte, size int) error {
	if len(body) != size {
		return fmt.Errorf("%s of %d bytes, want %d", what, len(body), size)
	}
	return nil
}

// payloadMessage is a grpc.testing message that carries a payload.
type payloadMessage interface {
	proto.Message
	GetPayload() *testpb.Payload
}

// serveEach is a floor server's loop: it reads each fresh message newIn
// makes, checks that its payload is size bytes, and sends what answer
// builds from it (nothing when answer is nil: a one-way stream).
func serveEach[M payloadMessage](c *protoConn, size int, newIn func() M, answer func(M) (proto.Message, error)) error {
	for {
		in := newIn()
		if err := c.recv(in); err != nil {
			return err
		}
		if err := checkBody("message received", in.GetPayload().GetBody(), size); err != nil {
			return err
		}
		if answer == nil {
			continue
		}
		out, err := answer(in)
		if err != nil {
			return err
		}
		if err := c.send(out); err != nil {
			return err
		}
	}
}

// exchange is a floor caller's round trip: it sends req and reads resp,
// whose payload must be size bytes.
func exchange(c *protoConn, req proto.Message, resp payloadMessage, size int) error {
	if err := c.send(req); err != nil {
		return err
	}
	if err := c.recv(resp); err != nil {
		return err
	}
	return checkBody("response", resp.GetPayload().GetBody(), size)
}

// protoPingPong is bidi/pingpong's work on bare TCP: one connection, one
// round trip at a time of a fresh StreamingOutputCallRequest of size bytes
// answered by a fresh StreamingOutputCallResponse of the same size: round
// trips/s.
func protoPingPong(size int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		serve := func(c *protoConn) error {
			return serveEach(c, size, func() *testpb.StreamingOutputCallRequest { return &testpb.StreamingOutputCallRequest{} },
				func(req *testpb.StreamingOutputCallRequest) (proto.Message, error) {
					b, err := freshBody(req.GetResponseParameters()[0].GetSize())
					return &testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: b}}, err
				})
		}
		return runProtoFloor(ctx, e, 1, serve, func(c *protoConn) error {
			return exchange(c, echoReq(size), &testpb.StreamingOutputCallResponse{}, size)
		})
	}
}

// protoUnary is unary's work on bare TCP: conc callers, each on its own
// connection, send a fresh SimpleRequest of size bytes and read a fresh
// SimpleResponse of size bytes: calls/s.
func protoUnary(size, conc int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		serve := func(c *protoConn) error {
			return serveEach(c, size, func() *testpb.SimpleRequest { return &testpb.SimpleRequest{} },
				func(req *testpb.SimpleRequest) (proto.Message, error) { return unaryCall(req) })
		}
		return runProtoFloor(ctx, e, e.scale(conc, smokeConc), serve, func(c *protoConn) error {
			return exchange(c, unaryReq(size), &testpb.SimpleResponse{}, size)
		})
	}
}

// streamBatch is how many bytes of queued messages a floor stream's sender
// writes at once: a stack's connection writer also writes the messages
// queued since its last write together (h2rpc's senders run up to 512 KiB
// ahead of it), and one write per 64 KiB message cost the floor about a
// third more CPU per message than h2rpc on this machine.
const streamBatch = 256 * kib

// protoStream is streaming's work on bare TCP: conc senders, each on its
// own connection, send fresh StreamingInputCallRequests of size bytes
// without waiting, written streamBatch bytes at a time, and the other end
// reads and checks each: messages/s, counted as each message is queued
// (the batch and the kernel's socket buffers let the count run ahead of
// the reader by at most what they hold, as flow control does in
// client-stream). One direction's work is the same either way, so it is
// the floor of server streaming too.
func protoStream(size, conc int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		serve := func(c *protoConn) error {
			return serveEach(c, size, func() *testpb.StreamingInputCallRequest { return &testpb.StreamingInputCallRequest{} }, nil)
		}
		return runProtoFloor(ctx, e, e.scale(conc, smokeConc), serve, func(c *protoConn) error {
			if err := c.queue(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, size)}}); err != nil {
				return err
			}
			if len(c.wbuf) < streamBatch {
				return nil
			}
			return c.flush()
		})
	}
}
