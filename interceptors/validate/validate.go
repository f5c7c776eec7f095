package validate

import (
	"context"
	"errors"

	"buf.build/go/protovalidate"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
)

// Validator is implemented by messages that can check themselves, e.g. by
// code that protoc-gen-validate style generators emit.
type Validator interface {
	Validate() error
}

// Option configures the interceptors and Checker.
type Option func(*Checker)

// WithValidator evaluates rules with v instead of protovalidate's global
// validator (say, one built with protovalidate.WithFailFast or with
// messages compiled ahead of time).
func WithValidator(v protovalidate.Validator) Option {
	return func(c *Checker) { c.rules = v }
}

// Checker validates messages; the interceptors use one.
type Checker struct {
	rules protovalidate.Validator // nil: protovalidate's global validator
}

// NewChecker returns a Checker with the options applied.
func NewChecker(opts ...Option) *Checker {
	c := &Checker{}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Check validates m with the default Checker.
func Check(m any) error { return defaultChecker.Check(m) }

var defaultChecker = &Checker{}

// Check validates m: a protobuf message against its protovalidate rules,
// then, if it has one, its Validate method. Broken rules become
// INVALID_ARGUMENT with a google.rpc.BadRequest listing the violations.
// A Validate failure becomes INVALID_ARGUMENT with its message; a status
// error with INVALID_ARGUMENT is kept as is, so its details survive, and
// any other status code is turned into INVALID_ARGUMENT as well: a bad
// message is the caller's fault, whatever the validator says. Rules that
// cannot be evaluated (a broken CEL expression) are the server's fault:
// INTERNAL.
func (c *Checker) Check(m any) error {
	if pm, ok := m.(proto.Message); ok {
		if err := c.checkRules(pm); err != nil {
			return err
		}
	}
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

func (c *Checker) checkRules(m proto.Message) error {
	var err error
	if c.rules != nil {
		err = c.rules.Validate(m)
	} else {
		err = protovalidate.Validate(m)
	}
	if err == nil {
		return nil
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return status.Errorf(codes.Internal, "validate: evaluating the rules of %s: %v", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return invalidArgument(verr)
}

// invalidArgument turns broken rules into INVALID_ARGUMENT with a
// BadRequest detail: the field's path ("address.city", "tags[2]") and the
// rule's message for each.
func invalidArgument(verr *protovalidate.ValidationError) error {
	br := &errdetails.BadRequest{}
	for _, v := range verr.Violations {
		fv := &errdetails.BadRequest_FieldViolation{
			Field:       protovalidate.FieldPathString(v.Proto.GetField()),
			Description: v.Proto.GetMessage(),
			Reason:      v.Proto.GetRuleId(),
		}
		br.FieldViolations = append(br.FieldViolations, fv)
	}
	st, err := status.New(codes.InvalidArgument, verr.Error()).WithDetails(br)
	if err != nil {
		return status.Error(codes.InvalidArgument, verr.Error())
	}
	return st.Err()
}

// UnaryServerInterceptor validates each request before the handler.
func UnaryServerInterceptor(opts ...Option) rpc.UnaryServerInterceptor {
	c := NewChecker(opts...)
	return func(ctx context.Context, req any, _ *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		if err := c.Check(req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor validates each received message; an invalid one
// makes RecvMsg fail with INVALID_ARGUMENT, which handlers normally return,
// ending the call with that status.
func StreamServerInterceptor(opts ...Option) rpc.StreamServerInterceptor {
	c := NewChecker(opts...)
	return func(srv any, ss rpc.ServerStream, _ *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		return handler(srv, &serverStream{ss, c})
	}
}

type serverStream struct {
	rpc.ServerStream
	c *Checker
}

func (s *serverStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.c.Check(m)
}

// UnaryClientInterceptor validates requests before sending them, saving a
// round trip for a call that would fail anyway.
func UnaryClientInterceptor(opts ...Option) rpc.UnaryClientInterceptor {
	c := NewChecker(opts...)
	return func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts ...rpc.CallOption) error {
		if err := c.Check(req); err != nil {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor validates each message before SendMsg sends it;
// the stream stays usable after a rejected message.
func StreamClientInterceptor(opts ...Option) rpc.StreamClientInterceptor {
	c := NewChecker(opts...)
	return func(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, opts ...rpc.CallOption) (rpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &clientStream{s, c}, nil
	}
}

type clientStream struct {
	rpc.ClientStream
	c *Checker
}

func (s *clientStream) SendMsg(m any) error {
	if err := s.c.Check(m); err != nil {
		return err
	}
	return s.ClientStream.SendMsg(m)
}
