package h2

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ContextWithDeadline makes the stream's context with the deadline when it is
// the first to ask; Context returns that one afterwards; a later call gets
// the context as made, without the deadline, and says so.
func TestContextWithDeadline(t *testing.T) {
	goroutineLeakCheck(t)
	type result struct {
		first, later, again             context.Context
		withDeadline, againWithDeadline bool
		afterReturn                     <-chan struct{}
	}
	got := make(chan result, 1)
	deadline := time.Now().Add(time.Hour)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		var r result
		r.first, r.withDeadline = st.ContextWithDeadline(deadline)
		r.later = st.Context()
		r.again, r.againWithDeadline = st.ContextWithDeadline(time.Now().Add(time.Minute))
		r.afterReturn = r.first.Done()
		_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
		got <- r
	})}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	r := <-got
	require.True(t, r.withDeadline)
	d, ok := r.first.Deadline()
	require.True(t, ok)
	require.True(t, d.Equal(deadline))
	require.Equal(t, r.first, r.later, "Context returns the context made with the deadline")
	require.Equal(t, r.first, r.again)
	require.False(t, r.againWithDeadline, "made already: returned as it is")
	select {
	case <-r.afterReturn:
	case <-time.After(waitLong):
		t.Fatal("the handler's return did not cancel the context")
	}
	require.ErrorIs(t, r.first.Err(), context.Canceled)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
}

// A deadline already past: the context is done with DeadlineExceeded, as
// context.WithDeadline's would be.
func TestContextWithPastDeadline(t *testing.T) {
	goroutineLeakCheck(t)
	errs := make(chan error, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		ctx, _ := st.ContextWithDeadline(time.Now().Add(-time.Second))
		<-ctx.Done()
		errs <- ctx.Err()
		st.Reset(ErrCodeCancel)
	})}, nil)
	_, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.ErrorIs(t, <-errs, context.DeadlineExceeded)
}
