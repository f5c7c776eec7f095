package callinfo

import (
	"testing"

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
