package h2

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A plain request and response make none of a stream's lazily made parts,
// on either side: what keeps every Stream in its size class is that only
// the streams that push, see 1xx responses or have deadlines and timeouts
// pay for them.
func TestPlainStreamMakesNoRareParts(t *testing.T) {
	goroutineLeakCheck(t)
	served := make(chan *Stream, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = st.Write([]byte("pong"))
		served <- st
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	body, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "pong", string(body))
	srv := <-served
	for _, x := range []*Stream{st, srv} {
		x.s.mu.Lock()
		require.Nil(t, x.rare, "stream %d", x.id)
		require.Nil(t, x.watch, "stream %d", x.id)
		x.s.mu.Unlock()
	}
}

// The packed priority (streamPrio) gives back every field SetPriority was
// given, at the ends of their ranges, normalized as before.
func TestPriorityKeepsEveryField(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) { _, _ = io.Copy(io.Discard, st) })}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	defer st.Reset(ErrCodeCancel)
	for _, c := range []struct{ set, want Priority }{
		{Priority{Weight: 256, Parent: 1<<31 - 1, Exclusive: true, Urgency: 7, Incremental: true},
			Priority{Weight: 256, Parent: 1<<31 - 1, Exclusive: true, Urgency: 7, Incremental: true}},
		{Priority{Weight: 1, Urgency: 0}, Priority{Weight: 1, Urgency: 0}},
		{Priority{Weight: 0, Urgency: 9}, Priority{Weight: 16, Urgency: 7}},
		{Priority{Weight: 1000, Urgency: -1}, Priority{Weight: 256, Urgency: 0}},
	} {
		require.NoError(t, st.SetPriority(c.set, true))
		require.Equal(t, c.want, st.Priority())
	}
}

// SetDeadline's deadline and the separate read and write ones share the
// watch part but not a slot: clearing one leaves the others.
func TestSharedAndSideDeadlinesStayApart(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) { _, _ = io.Copy(io.Discard, st) })}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	defer st.Reset(ErrCodeCancel)
	past := time.Now().Add(-time.Second)

	st.SetDeadline(past)
	st.SetReadDeadline(time.Time{})
	_, err = st.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the shared deadline still holds")

	st.SetDeadline(time.Time{})
	st.SetReadDeadline(past)
	_, err = st.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	_, err = st.Write([]byte("x"))
	require.NoError(t, err, "the read deadline does not bound Write")
}
