package rpc

// Typed views of streams for generated code and its users.

import (
	"io"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// ServerStreamingClient is the client side of a server-streaming call.
type ServerStreamingClient[Res any] interface {
	Recv() (*Res, error)
	ClientStream
}

// ServerStreamingServer is the server side of a server-streaming call.
type ServerStreamingServer[Res any] interface {
	Send(*Res) error
	ServerStream
}

// ClientStreamingClient is the client side of a client-streaming call.
type ClientStreamingClient[Req any, Res any] interface {
	Send(*Req) error
	CloseAndRecv() (*Res, error)
	ClientStream
}

// ClientStreamingServer is the server side of a client-streaming call.
type ClientStreamingServer[Req any, Res any] interface {
	Recv() (*Req, error)
	SendAndClose(*Res) error
	ServerStream
}

// BidiStreamingClient is the client side of a bidirectional call.
type BidiStreamingClient[Req any, Res any] interface {
	Send(*Req) error
	Recv() (*Res, error)
	ClientStream
}

// BidiStreamingServer is the server side of a bidirectional call.
type BidiStreamingServer[Req any, Res any] interface {
	Recv() (*Req, error)
	Send(*Res) error
	ServerStream
}

// GenericClientStream implements the typed client streams over a ClientStream.
type GenericClientStream[Req any, Res any] struct {
	ClientStream
}

// Send sends one request message.
func (x *GenericClientStream[Req, Res]) Send(m *Req) error { return x.ClientStream.SendMsg(m) }

// Recv receives one response message; io.EOF at the end of an OK call.
func (x *GenericClientStream[Req, Res]) Recv() (*Res, error) {
	m := new(Res)
	if err := x.ClientStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// CloseAndRecv half-closes and receives the single response, then the
// call's status: a response with no message or with more than one breaks
// the method's cardinality and fails with UNIMPLEMENTED, as the gRPC and
// Connect specs ask, and the trailer metadata are in once it returns.
func (x *GenericClientStream[Req, Res]) CloseAndRecv() (*Res, error) {
	if err := x.ClientStream.CloseSend(); err != nil {
		return nil, err
	}
	m := new(Res)
	if err := x.ClientStream.RecvMsg(m); err != nil {
		if err == io.EOF {
			return nil, errNoResponse
		}
		return nil, err
	}
	switch err := x.ClientStream.RecvMsg(new(Res)); err {
	case io.EOF:
		return m, nil
	case nil:
		return nil, errSecondResponse
	default:
		return nil, err
	}
}

// The cardinality violations of calls with a single response.
var (
	errNoResponse     = status.Error(codes.Unimplemented, "rpc: call ended with OK but no response message")
	errSecondResponse = status.Error(codes.Unimplemented, "rpc: call got more than one response message")
)

// GenericServerStream implements the typed server streams over a ServerStream.
type GenericServerStream[Req any, Res any] struct {
	ServerStream
}

// Send sends one response message.
func (x *GenericServerStream[Req, Res]) Send(m *Res) error { return x.ServerStream.SendMsg(m) }

// SendAndClose sends the single response of a client-streaming call; the
// status follows when the handler returns.
func (x *GenericServerStream[Req, Res]) SendAndClose(m *Res) error { return x.ServerStream.SendMsg(m) }

// Recv receives one request message; io.EOF when the client half-closed.
func (x *GenericServerStream[Req, Res]) Recv() (*Req, error) {
	m := new(Req)
	if err := x.ServerStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}
