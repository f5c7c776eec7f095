package rpc

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A write that outlasts WriteTimeout goes on while the client keeps taking
// bytes at no less than the floor on average since the socket's buffer
// filled; the checks below are at the deadlines such a write meets.
func TestWriteStallCheck(t *testing.T) {
	const wt = time.Second
	t0 := time.Unix(1000, 0)
	type step struct {
		at    time.Duration // after the buffer filled
		taken int64         // bytes taken since
		goOn  bool
		next  time.Duration // the next deadline, after the buffer filled
	}
	cases := []struct {
		name    string
		minRate int64
		steps   []step
	}{
		{"a deadline soon after the buffer filled waits a whole timeout from then", 1024, []step{
			{at: 100 * time.Millisecond, taken: 0, goOn: true, next: wt},
			{at: wt, taken: 0, goOn: false},
		}},
		{"a client that took nothing is cut off", 1024, []step{
			{at: wt, taken: 0, goOn: false},
		}},
		{"a steady client above the floor goes on", 1024, []step{
			{at: wt, taken: 64 << 10, goOn: true, next: 2 * wt},
			{at: 2 * wt, taken: 128 << 10, goOn: true, next: 3 * wt},
			{at: 3 * wt, taken: 130 << 10, goOn: true, next: 4 * wt},
		}},
		{"a trickle that takes a little in every timeout is cut off by the floor", 1024, []step{
			{at: wt, taken: 700, goOn: false},
		}},
		{"an average that falls under the floor is cut off", 1024, []step{
			{at: wt, taken: 2100, goOn: true, next: 2 * wt},
			{at: 2 * wt, taken: 2200, goOn: true, next: 3 * wt},
			{at: 3 * wt, taken: 2300, goOn: false},
		}},
		{"a client that stops after a good start is cut off a timeout later", 1024, []step{
			{at: wt, taken: 1 << 20, goOn: true, next: 2 * wt},
			{at: 2 * wt, taken: 1 << 20, goOn: false},
		}},
		{"without a floor a trickle goes on", -1, []step{
			{at: wt, taken: 1, goOn: true, next: 2 * wt},
			{at: 2 * wt, taken: 2, goOn: true, next: 3 * wt},
			{at: 3 * wt, taken: 2, goOn: false},
		}},
	}
	cause := os.ErrDeadlineExceeded
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := writeStall{since: t0}
			for i, st := range tc.steps {
				next, err := s.check(t0.Add(st.at), st.taken, wt, tc.minRate, cause)
				if !st.goOn {
					require.Error(t, err, "step %d", i)
					require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "the cause stays matchable")
					return
				}
				require.NoError(t, err, "step %d", i)
				require.Equal(t, t0.Add(st.next), next, "step %d", i)
			}
		})
	}
}
