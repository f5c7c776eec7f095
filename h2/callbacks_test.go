package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInformationalCallbackMayUseStream: OnInformational runs without the
// session lock, so it can call the stream's methods (it used to deadlock).
func TestInformationalCallbackMayUseStream(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.SendInformational(Header{{Name: ":status", Value: "103"}})
		_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
	})}
	c := memPair(t, srv, nil)
	opened := make(chan *Stream, 1)
	states := make(chan string, 1)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{
		EndStream: true,
		OnInformational: func(h Header) {
			st := <-opened
			states <- st.State() + " " + h.Get(":status") + " " + st.Session().Protocol()
		},
	})
	require.NoError(t, err)
	opened <- st
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "204", h.Get(":status"))
	require.Equal(t, "half-closed (local) 103 h2c", <-states)
}
