package status

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestNewAndErr(t *testing.T) {
	s := New(codes.NotFound, "no such thing")
	require.Equal(t, codes.NotFound, s.Code())
	require.Equal(t, "no such thing", s.Message())
	err := s.Err()
	require.EqualError(t, err, "rpc error: code = NotFound desc = no such thing")
	require.Nil(t, New(codes.OK, "fine").Err())
	require.Nil(t, Error(codes.OK, "x"))
	require.EqualError(t, Errorf(codes.Internal, "n=%d", 3), "rpc error: code = Internal desc = n=3")
	require.Equal(t, "a 1", Newf(codes.Aborted, "a %d", 1).Message())
}

func TestNilStatusIsOK(t *testing.T) {
	var s *Status
	require.Equal(t, codes.OK, s.Code())
	require.Equal(t, "", s.Message())
	require.Nil(t, s.Proto())
	require.Nil(t, s.Err())
	require.Nil(t, s.Details())
	st, ok := FromError(nil)
	require.True(t, ok)
	require.Nil(t, st)
	require.Equal(t, codes.OK, Code(nil))
}

func TestFromError(t *testing.T) {
	err := Error(codes.PermissionDenied, "nope")
	st, ok := FromError(err)
	require.True(t, ok)
	require.Equal(t, codes.PermissionDenied, st.Code())
	require.Equal(t, "nope", st.Message())

	wrapped := fmt.Errorf("loading user: %w", err)
	st, ok = FromError(wrapped)
	require.True(t, ok)
	require.Equal(t, codes.PermissionDenied, st.Code())
	require.Equal(t, wrapped.Error(), st.Message())
	require.Equal(t, codes.PermissionDenied, Code(wrapped))

	st, ok = FromError(errors.New("plain"))
	require.False(t, ok)
	require.Equal(t, codes.Unknown, st.Code())
	require.Equal(t, "plain", st.Message())
	require.Equal(t, codes.Unknown, Code(errors.New("plain")))
	require.Equal(t, codes.Unknown, Convert(errors.New("x")).Code())
}

func TestErrorsIsAs(t *testing.T) {
	err := fmt.Errorf("ctx: %w", Error(codes.NotFound, "x"))
	require.True(t, errors.Is(err, Error(codes.NotFound, "x")))
	require.False(t, errors.Is(err, Error(codes.NotFound, "y")))
	require.False(t, errors.Is(err, Error(codes.Internal, "x")))
	require.False(t, errors.Is(err, errors.New("x")))
	var se interface{ GRPCStatus() *Status }
	require.True(t, errors.As(err, &se))
	require.Equal(t, codes.NotFound, se.GRPCStatus().Code())
}

func TestDetails(t *testing.T) {
	s := New(codes.InvalidArgument, "bad")
	s2, err := s.WithDetails(wrapperspb.String("field x"), durationpb.New(3))
	require.NoError(t, err)
	require.Empty(t, s.Details(), "WithDetails must not modify the receiver")
	d := s2.Details()
	require.Len(t, d, 2)
	require.True(t, proto.Equal(wrapperspb.String("field x"), d[0].(proto.Message)))
	require.True(t, proto.Equal(durationpb.New(3), d[1].(proto.Message)))

	_, err = New(codes.OK, "").WithDetails(wrapperspb.String("x"))
	require.Error(t, err)

	// An unknown type URL is reported, not dropped.
	p := s.Proto()
	p.Details = append(p.Details, &anypb.Any{TypeUrl: "type.googleapis.com/no.such.Type", Value: []byte{1}})
	d = FromProto(p).Details()
	require.Len(t, d, 1)
	require.Error(t, d[0].(error))
}

func TestProtoRoundTrip(t *testing.T) {
	p := &Proto{Code: 5, Message: "m"}
	s := FromProto(p)
	p.Message = "changed"
	require.Equal(t, "m", s.Message(), "FromProto must copy")
	q := s.Proto()
	q.Message = "changed"
	require.Equal(t, "m", s.Message(), "Proto must copy")
	require.Error(t, ErrorProto(&Proto{Code: 3}))
	require.NoError(t, ErrorProto(&Proto{}))
}

func TestFromContextError(t *testing.T) {
	require.Nil(t, FromContextError(nil))
	require.Equal(t, codes.DeadlineExceeded, FromContextError(context.DeadlineExceeded).Code())
	require.Equal(t, codes.Canceled, FromContextError(fmt.Errorf("w: %w", context.Canceled)).Code())
	require.Equal(t, codes.Unknown, FromContextError(errors.New("x")).Code())
}

// Code is asked of every error a call ends with: for a status error, as
// calls return them, it must not allocate (errors.As alone costs one).
func TestCodeOfAStatusErrorDoesNotAllocate(t *testing.T) {
	err := Error(codes.Canceled, "x")
	wrapped := fmt.Errorf("call: %w", err)
	require.Equal(t, codes.Canceled, Code(err))
	require.Equal(t, codes.Canceled, Code(wrapped))
	require.Equal(t, codes.Unknown, Code(errors.New("plain")))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = Code(err) }))
}
