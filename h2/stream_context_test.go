package h2

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Asking for a stream's context, with a deadline, and asking it for its
// deadline and error allocate nothing and make nothing: the context
// package's context is made by the first wait (Done), and canceled by the
// stream's end.
func TestStreamContextIsMadeByTheFirstWait(t *testing.T) {
	st := &Stream{}
	at := time.Now().Add(time.Hour)
	ctx, first := st.ContextWithDeadline(at)
	require.True(t, first)
	allocs := testing.AllocsPerRun(100, func() {
		c := st.Context()
		_, _ = c.Deadline()
		_ = c.Err()
		_, _ = st.ContextWithDeadline(at)
	})
	require.Zero(t, allocs)
	require.Nil(t, st.ctxMade, "nothing waited")
	d, ok := ctx.Deadline()
	require.True(t, ok)
	require.Equal(t, at.UnixNano(), d.UnixNano())
	_, first = st.ContextWithDeadline(time.Now())
	require.False(t, first, "the deadline is the first caller's")

	done := ctx.Done()
	require.NotNil(t, st.ctxMade)
	require.Equal(t, done, st.Context().Done(), "made once")
	require.NoError(t, ctx.Err())
	st.endCtx()
	<-done
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

// The end of a stream and the making of its context share ctxState's word:
// a context made after the end is canceled, with the error Err gave before
// it was made.
func TestStreamContextMadeAfterTheEnd(t *testing.T) {
	st := &Stream{}
	ctx := st.Context()
	st.endCtx()
	require.ErrorIs(t, ctx.Err(), context.Canceled, "ended before anyone waited")
	<-ctx.Done()
	require.ErrorIs(t, ctx.Err(), context.Canceled)

	ended := &Stream{}
	ended.endCtx()
	ctx, first := ended.ContextWithDeadline(time.Now().Add(time.Hour))
	require.True(t, first)
	require.ErrorIs(t, ctx.Err(), context.Canceled, "asked for after the end")
	<-ctx.Done()
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

// A deadline passes without a timer while nobody waits: Err says so, and so
// does the context made later, whether or not the stream ended after it.
func TestStreamContextDeadlinePassesUnwatched(t *testing.T) {
	for _, end := range []bool{false, true} {
		st := &Stream{}
		ctx, _ := st.ContextWithDeadline(time.Now().Add(-time.Millisecond))
		require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
		if end {
			st.endCtx() // after the deadline: a timer would have fired first
			require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
		}
		<-ctx.Done()
		require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	}
}

// A child context hangs on the made context through AfterFunc (no
// goroutine watching Done), and ends with the stream.
func TestStreamContextChildEndsWithTheStream(t *testing.T) {
	goroutineLeakCheck(t)
	st := &Stream{}
	child, cancel := context.WithTimeout(st.Context(), time.Hour)
	defer cancel()
	ran := make(chan struct{})
	context.AfterFunc(st.Context(), func() { close(ran) })
	require.NoError(t, child.Err())
	st.endCtx()
	<-child.Done()
	require.ErrorIs(t, child.Err(), context.Canceled)
	<-ran
}

// Once Err has said the deadline passed it keeps saying so without reading
// the clock again: here the deadline moves an hour ahead afterwards, as a
// wall clock stepping back would make it, and neither Err nor the context
// made later go back to waiting.
func TestStreamContextDeadlinePassedStaysPassed(t *testing.T) {
	st := &Stream{}
	ctx, _ := st.ContextWithDeadline(time.Now().Add(-time.Millisecond))
	require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	st.ctxDeadline = time.Now().Add(time.Hour).UnixNano() // what the clock says now, stepped back
	require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "Err read the clock again")
	select {
	case <-ctx.Done():
	case <-time.After(waitLong):
		t.Fatal("the context made after Err said the deadline passed waits for it again")
	}
	require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	st.endCtx()
	require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
}
