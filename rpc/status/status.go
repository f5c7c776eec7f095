package status

import (
	"context"
	"errors"
	"fmt"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Status is an RPC outcome. A nil *Status means OK, so that the accessors can
// be called on the result of FromError(nil) without a check.
// A Status is immutable once built; WithDetails returns a copy.
type Status struct {
	s *Proto
}

// New returns a Status with the code and message.
func New(c codes.Code, msg string) *Status {
	return &Status{s: &Proto{Code: int32(c), Message: msg}}
}

// Newf is New with a formatted message.
func Newf(c codes.Code, format string, a ...any) *Status {
	return New(c, fmt.Sprintf(format, a...))
}

// Error returns an error carrying the code and message, or nil for codes.OK.
func Error(c codes.Code, msg string) error { return New(c, msg).Err() }

// Errorf is Error with a formatted message.
func Errorf(c codes.Code, format string, a ...any) error {
	return New(c, fmt.Sprintf(format, a...)).Err()
}

// FromProto wraps a google.rpc.Status; it is copied so the caller may keep
// modifying its own.
func FromProto(s *Proto) *Status {
	return &Status{s: s.clone()}
}

// ErrorProto returns the error for a google.rpc.Status, or nil when its code is OK.
func ErrorProto(s *Proto) error { return FromProto(s).Err() }

// Code returns the code, codes.OK for a nil Status.
func (s *Status) Code() codes.Code {
	if s == nil || s.s == nil {
		return codes.OK
	}
	return codes.Code(s.s.Code)
}

// Message returns the message, "" for a nil Status.
func (s *Status) Message() string {
	if s == nil || s.s == nil {
		return ""
	}
	return s.s.Message
}

// Proto returns a copy of the status as a google.rpc.Status (nil for a nil Status).
func (s *Status) Proto() *Proto {
	if s == nil || s.s == nil {
		return nil
	}
	return s.s.clone()
}

// Err returns the Status as an error, nil when the code is OK.
func (s *Status) Err() error {
	if s.Code() == codes.OK {
		return nil
	}
	return &statusError{s: s}
}

// String formats the status like its error message.
func (s *Status) String() string {
	return fmt.Sprintf("rpc error: code = %s desc = %s", s.Code(), s.Message())
}

// WithDetails returns a copy of s with the messages appended as details.
// Details cannot be attached to OK: there is nowhere to send them.
func (s *Status) WithDetails(details ...proto.Message) (*Status, error) {
	if s.Code() == codes.OK {
		return nil, errors.New("status: no details can be added to an OK status")
	}
	p := s.Proto()
	for _, d := range details {
		a, err := anypb.New(d)
		if err != nil {
			return nil, fmt.Errorf("status: packing detail: %w", err)
		}
		p.Details = append(p.Details, a)
	}
	return &Status{s: p}, nil
}

// Details returns the details, each unpacked into its Go message type when
// that type is linked into the binary; a detail that cannot be unpacked is
// returned as the error that explains why, so nothing is silently dropped.
func (s *Status) Details() []any {
	if s == nil || s.s == nil || len(s.s.Details) == 0 {
		return nil
	}
	out := make([]any, 0, len(s.s.Details))
	for _, a := range s.s.Details {
		m, err := a.UnmarshalNew()
		if err != nil {
			out = append(out, fmt.Errorf("status: detail %q: %w", a.GetTypeUrl(), err))
			continue
		}
		out = append(out, m)
	}
	return out
}

// statusError is the error form of a non-OK Status. It is unexported so the
// only way to inspect it is FromError, Code or the GRPCStatus method.
type statusError struct {
	s *Status
}

func (e *statusError) Error() string { return e.s.String() }

// GRPCStatus returns the Status. The name matches grpc-go's convention so
// errors from either library are recognised by the other's helpers.
func (e *statusError) GRPCStatus() *Status { return e.s }

// Is reports whether target is a status error with the same code, message
// and details, so errors.Is(err, status.Error(codes.NotFound, "x")) works.
func (e *statusError) Is(target error) bool {
	t, ok := target.(*statusError)
	if !ok {
		return false
	}
	if e.s.s == nil || t.s.s == nil {
		return e.s.s == t.s.s
	}
	return e.s.s.equal(t.s.s)
}

// grpcStatuser is implemented by errors that carry a Status.
type grpcStatuser interface{ GRPCStatus() *Status }

// FromError returns the Status carried by err and true, looking through
// wrapping (fmt.Errorf("%w")). For a wrapped status error the message is
// err.Error(), which includes the wrapping context. A nil err gives
// (nil, true): nil is OK. Any other error gives codes.Unknown with the error's
// text and false.
func FromError(err error) (*Status, bool) {
	if err == nil {
		return nil, true
	}
	var gs grpcStatuser
	if errors.As(err, &gs) {
		st := gs.GRPCStatus()
		if st == nil {
			return New(codes.Unknown, err.Error()), false
		}
		if _, direct := err.(grpcStatuser); direct {
			return st, true
		}
		p := st.Proto()
		if p == nil {
			p = &Proto{Code: int32(codes.Unknown)}
		}
		p.Message = err.Error()
		return &Status{s: p}, true
	}
	return New(codes.Unknown, err.Error()), false
}

// Convert is FromError without the bool.
func Convert(err error) *Status {
	s, _ := FromError(err)
	return s
}

// Code returns the code of err: OK for nil, the carried code for a status
// error (even wrapped), and Unknown otherwise.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if gs, ok := err.(grpcStatuser); ok {
		// Unwrapped, the common case: errors.As would cost an allocation.
		if st := gs.GRPCStatus(); st != nil {
			return st.Code()
		}
		return codes.Unknown
	}
	var gs grpcStatuser
	if errors.As(err, &gs) {
		if st := gs.GRPCStatus(); st != nil {
			return st.Code()
		}
	}
	return codes.Unknown
}

// FromContextError maps context.DeadlineExceeded and context.Canceled (even
// wrapped) to their codes; any other error becomes Unknown.
func FromContextError(err error) *Status {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return New(codes.Canceled, err.Error())
	default:
		return New(codes.Unknown, err.Error())
	}
}
