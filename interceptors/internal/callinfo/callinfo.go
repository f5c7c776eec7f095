package callinfo

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/proto"
)

// Code is the status code the other side sees for err: io.EOF (a client
// stream's clean end) is OK, and a bare context error from a handler is
// CANCELLED or DEADLINE_EXCEEDED, as the runtime sends it.
func Code(err error) codes.Code {
	if err == nil || errors.Is(err, io.EOF) {
		return codes.OK
	}
	if _, ok := status.FromError(err); !ok && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return status.FromContextError(err).Code()
	}
	return status.Code(err)
}

// Split splits "/pkg.Service/Method" into its service and method; a
// malformed name comes back whole as the method with an empty service.
func Split(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		return s[:i], s[i+1:]
	}
	return "", fullMethod
}

// Size is the encoded size of a protobuf message, and 0 for anything else
// (a nil response of a failed call, a message of another codec).
func Size(m any) int {
	if pm, ok := m.(proto.Message); ok && pm != nil {
		return proto.Size(pm)
	}
	return 0
}

// Counts are the messages and their encoded bytes in each direction. The
// fields are atomic because a stream's sender and receiver may be
// different goroutines.
type Counts struct {
	MsgsSent, MsgsRecv   atomic.Int64
	BytesSent, BytesRecv atomic.Int64
	// Observer, when set, sees each message's size (metrics records one
	// histogram sample per message).
	Observer Observer
}

// Observer sees the size of each message of a call.
type Observer interface {
	Sent(size int)
	Received(size int)
}

func (c *Counts) sent(m any) {
	n := Size(m)
	c.MsgsSent.Add(1)
	c.BytesSent.Add(int64(n))
	if c.Observer != nil {
		c.Observer.Sent(n)
	}
}

func (c *Counts) recv(m any) {
	n := Size(m)
	c.MsgsRecv.Add(1)
	c.BytesRecv.Add(int64(n))
	if c.Observer != nil {
		c.Observer.Received(n)
	}
}

// ServerStream counts the messages of a server stream.
type ServerStream struct {
	rpc.ServerStream
	C *Counts
}

// SendMsg counts m once it was sent.
func (s *ServerStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.C.sent(m)
	}
	return err
}

// RecvMsg counts m once it was received.
func (s *ServerStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.C.recv(m)
	}
	return err
}

// ClientStream counts the messages of a client stream and reports the end
// of the call, once, to Done: when RecvMsg returns an error (io.EOF is a
// clean end), or when the call's context ends first, which is how an
// application abandons a stream it does not read to the end.
type ClientStream struct {
	rpc.ClientStream
	C    *Counts
	Done func(err error)
	once atomic.Bool
	stop func() bool
}

// NewClientStream wraps s, watching ctx (the call's context).
func NewClientStream(ctx context.Context, s rpc.ClientStream, c *Counts, done func(error)) *ClientStream {
	cs := &ClientStream{ClientStream: s, C: c, Done: done}
	// The callback must not touch cs.stop: it may run before the assignment.
	cs.stop = context.AfterFunc(ctx, func() { cs.end(status.FromContextError(ctx.Err()).Err()) })
	return cs
}

func (s *ClientStream) finish(err error) {
	if s.stop != nil {
		s.stop()
	}
	s.end(err)
}

// end reports the call's outcome once.
func (s *ClientStream) end(err error) {
	if !s.once.CompareAndSwap(false, true) {
		return
	}
	if s.Done != nil {
		s.Done(err)
	}
}

// SendMsg counts m once it was sent. A send error is not the end of the
// call: the status comes from RecvMsg.
func (s *ClientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil {
		s.C.sent(m)
	}
	return err
}

// RecvMsg counts m and reports the end of the call.
func (s *ClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.C.recv(m)
		return nil
	}
	s.finish(err)
	return err
}
