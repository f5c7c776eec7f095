package h2

import (
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A frame queued while a handed-over stream's handler has not begun leaves
// the writer asleep; the last handler to begin wakes it (handler_start.go).
func TestWriterWakeHeldWhileHandlersStart(t *testing.T) {
	s := writerSession(t, Options{})
	woken := func() bool {
		select {
		case <-s.wake:
			return true
		default:
			return false
		}
	}
	s.mu.Lock()
	s.queueLocked(frameReq{kind: reqPing})
	s.mu.Unlock()
	require.True(t, woken(), "no handler starting: the writer wakes at once")

	s.handoffMade()
	s.handoffMade()
	s.mu.Lock()
	s.queueLocked(frameReq{kind: reqPing})
	s.mu.Unlock()
	require.False(t, woken(), "held while two handlers have not begun")
	s.handlerBegins()
	require.False(t, woken(), "one has not begun yet")
	s.handlerBegins()
	require.True(t, woken(), "the last to begin gives the writer its wake-up")
	s.handlerBegins()
	s.handoffMade() // back to zero, then one starting, with nothing held
	s.handlerBegins()
	require.False(t, woken(), "nothing was held, nothing to give")
	s.mu.Lock()
	s.queueLocked(frameReq{kind: reqPing})
	s.mu.Unlock()
	require.True(t, woken())
}

// Batches of 32 streams at once, each handler responding at once, the race
// detector watching: every response arrives, so no wake-up held for starting
// handlers is lost.
func TestBatchOfStreamsAnsweredWithHeldWakeups(t *testing.T) {
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{Body: []byte("ok")})
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	ctx := ctxT(t)
	for range 20 {
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				st, err := c.Request(ctx, Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := st.Response(ctx); err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(st)
				if err != nil || string(b) != "ok" {
					t.Errorf("body %q, %v", b, err)
				}
			})
		}
		wg.Wait()
	}
}
