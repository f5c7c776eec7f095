package codes

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValuesMatchSpec(t *testing.T) {
	// The numbers are the wire format: a change here breaks interop.
	want := map[Code]uint32{OK: 0, Canceled: 1, Unknown: 2, InvalidArgument: 3, DeadlineExceeded: 4,
		NotFound: 5, AlreadyExists: 6, PermissionDenied: 7, ResourceExhausted: 8, FailedPrecondition: 9,
		Aborted: 10, OutOfRange: 11, Unimplemented: 12, Internal: 13, Unavailable: 14, DataLoss: 15,
		Unauthenticated: 16}
	require.Len(t, want, 17)
	for c, n := range want {
		require.Equal(t, n, uint32(c))
	}
}

func TestString(t *testing.T) {
	require.Equal(t, "OK", OK.String())
	require.Equal(t, "DeadlineExceeded", DeadlineExceeded.String())
	require.Equal(t, "Unauthenticated", Unauthenticated.String())
	require.Equal(t, "Code(17)", Code(17).String())
	require.Equal(t, "CANCELLED", Canceled.SpecName())
	require.Equal(t, "Code(99)", Code(99).SpecName())
	require.True(t, Unauthenticated.Valid())
	require.False(t, Code(17).Valid())
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Code
	}{
		{"0", OK}, {"16", Unauthenticated}, {"DEADLINE_EXCEEDED", DeadlineExceeded},
		{"deadlineexceeded", DeadlineExceeded}, {"CANCELED", Canceled}, {"Cancelled", Canceled},
		{"NotFound", NotFound},
	} {
		got, err := Parse(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "17", "-1", "NOPE", "4x"} {
		_, err := Parse(bad)
		require.Error(t, err, bad)
	}
}

func TestText(t *testing.T) {
	for c := OK; c <= Unauthenticated; c++ {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		var back Code
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, c, back)
	}
	var c Code
	require.Error(t, c.UnmarshalText([]byte("bogus")))
}
