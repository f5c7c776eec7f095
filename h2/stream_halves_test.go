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

func TestSendStep(t *testing.T) {
	for _, tc := range []struct {
		name           string
		steps          func(s *sendStep)
		want           sendStep
		headers, ended bool
	}{
		{"nothing yet", func(*sendStep) {}, sendNone, false, false},
		{"headers", func(s *sendStep) { s.headers() }, sendHeaders, true, false},
		{"headers twice (a 1xx, then the final ones on the wire)", func(s *sendStep) { s.headers(); s.headers() }, sendHeaders, true, false},
		{"the end", func(s *sendStep) { s.headers(); s.end() }, sendEnd, true, true},
		{"END_STREAM on the HEADERS: the end covers the headers", func(s *sendStep) { s.end() }, sendEnd, true, true},
		{"headers after the end change nothing", func(s *sendStep) { s.end(); s.headers() }, sendEnd, true, true},
	} {
		var s sendStep
		tc.steps(&s)
		require.Equal(t, tc.want, s, tc.name)
		require.Equal(t, tc.headers, s.hasHeaders(), tc.name)
		require.Equal(t, tc.ended, s.ended(), tc.name)
	}
}
