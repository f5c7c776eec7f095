package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRecvHalf(t *testing.T) {
	for _, tc := range []struct {
		name             string
		steps            func(r *recvHalf)
		want             recvHalf
		headers, isEnded bool
	}{
		{"new", func(*recvHalf) {}, recvHeadersDue, false, false},
		{"headers in", func(r *recvHalf) { r.headersIn() }, recvBody, true, false},
		{"headers, then end", func(r *recvHalf) { r.headersIn(); r.endIn() }, recvEnded, true, true},
		{"headers after the end change nothing", func(r *recvHalf) { r.headersIn(); r.endIn(); r.headersIn() }, recvEnded, true, true},
	} {
		var r recvHalf
		tc.steps(&r)
		require.Equal(t, tc.want, r, tc.name)
		require.Equal(t, tc.headers, r.hasHeaders(), tc.name)
		require.Equal(t, tc.isEnded, r.ended(), tc.name)
	}
}
