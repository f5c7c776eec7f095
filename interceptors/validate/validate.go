package validate

import (
	"context"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Validator is implemented by messages that can check themselves, e.g. by
// code that protoc-gen-validate style generators emit.
type Validator interface {
	Validate() error
}

// Check validates m when it is a Validator. A failure becomes
// INVALID_ARGUMENT with the validator's message; a status error with
// INVALID_ARGUMENT is kept as is, so field-violation details survive. Any
// other status code from a validator is turned into INVALID_ARGUMENT as
// well: a bad message is the caller's fault, whatever the validator says.
func Check(m any) error {
	v, ok := m.(Validator)
	if !ok {
		return nil
	}
	err := v.Validate()
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.InvalidArgument {
		return s.Err()
	}
	if s, ok := status.FromError(err); ok {
		return status.Error(codes.InvalidArgument, s.Message())
	}
	return status.Error(codes.InvalidArgument, err.Error())
}

// UnaryServerInterceptor validates each request before the handler.
func UnaryServerInterceptor() rpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		if err := Check(req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor validates each received message; an invalid one
// makes RecvMsg fail with INVALID_ARGUMENT, which handlers normally return,
// ending the call with that status.
func StreamServerInterceptor() rpc.StreamServerInterceptor {
	return func(srv any, ss rpc.ServerStream, _ *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		return handler(srv, &serverStream{ss})
	}
}

type serverStream struct{ rpc.ServerStream }

func (s *serverStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return Check(m)
}

// UnaryClientInterceptor validates requests before sending them, saving a
// round trip for a call that would fail anyway.
func UnaryClientInterceptor() rpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts ...rpc.CallOption) error {
		if err := Check(req); err != nil {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor validates each message before SendMsg sends it;
// the stream stays usable after a rejected message.
func StreamClientInterceptor() rpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, opts ...rpc.CallOption) (rpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &clientStream{s}, nil
	}
}

type clientStream struct{ rpc.ClientStream }

func (s *clientStream) SendMsg(m any) error {
	if err := Check(m); err != nil {
		return err
	}
	return s.ClientStream.SendMsg(m)
}
