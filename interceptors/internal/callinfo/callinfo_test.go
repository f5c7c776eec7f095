package callinfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ in, svc, m string }{
		{"/pkg.S/M", "pkg.S", "M"},
		{"pkg.S/M", "pkg.S", "M"},
		{"/a.b.c.S/Method", "a.b.c.S", "Method"},
		{"bogus", "", "bogus"},
		{"", "", ""},
	} {
		svc, m := Split(tc.in)
		require.Equal(t, tc.svc, svc, tc.in)
		require.Equal(t, tc.m, m, tc.in)
	}
}

func TestSize(t *testing.T) {
	require.Equal(t, 7, Size(wrapperspb.String("hello")))
	require.Equal(t, 0, Size("not proto"))
	require.Equal(t, 0, Size(nil))
	var nilMsg *wrapperspb.StringValue
	require.Equal(t, 0, Size(nilMsg))
}

func TestCode(t *testing.T) {
	require.Equal(t, codes.OK, Code(nil))
	require.Equal(t, codes.OK, Code(io.EOF))
	require.Equal(t, codes.Canceled, Code(context.Canceled))
	require.Equal(t, codes.DeadlineExceeded, Code(fmt.Errorf("waiting: %w", context.DeadlineExceeded)))
	require.Equal(t, codes.NotFound, Code(status.Error(codes.NotFound, "x")))
	require.Equal(t, codes.Unknown, Code(errors.New("plain")))
}
