package h2

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrentControlCalls: settings updates and pings issued from many
// goroutines at once are each acknowledged.
func TestConcurrentControlCalls(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: okHandler}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 5; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- c.UpdateSettings(ctxT(t), Settings{MaxConcurrentStreams: uint32(10 + i)})
		}()
		go func() {
			defer wg.Done()
			_, err := c.Ping(ctxT(t), [8]byte{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.False(t, c.PendingSettingsAck())
	require.GreaterOrEqual(t, c.LocalSettings().MaxConcurrentStreams, uint32(10))
}

// TestMisuseIsHarmless: calls in the wrong order or on dead streams and
// sessions return errors (or nothing) and never panic or hang.
func TestMisuseIsHarmless(t *testing.T) {
	goroutineLeakCheck(t)
	results := make(chan error, 4)
	codes := make(chan ErrCode, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		st.Reset(ErrCodeCancel)
		st.Reset(ErrCodeInternal) // the first reset stands
		results <- st.Respond(nil, nil)
		_, err := st.Write([]byte("x"))
		results <- err
		results <- st.CloseWrite()
		code, _ := st.ResetCode()
		codes <- code
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.Error(t, <-results, "call %d on a reset stream", i)
	}
	require.Equal(t, ErrCodeCancel, <-codes, "the first reset's code stands")
	_, err = st.Response(ctxT(t))
	require.Error(t, err)
	st.Reset(ErrCodeCancel) // resetting a stream the peer reset: nothing happens
	_, err = st.Read(make([]byte, 1))
	require.Error(t, err)

	// After the session is gone, everything fails at once.
	c.Abort(ErrCodeNo, nil)
	_, err = c.Request(ctxT(t), post("/"), nil)
	require.ErrorIs(t, err, ErrUnprocessed)
	_, err = st.Write([]byte("x"))
	require.Error(t, err)
	done := make(chan struct{})
	go func() {
		_, _ = io.ReadAll(st)
		_ = c.Close()
		c.Abort(ErrCodeNo, nil)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatal("a call on a closed session blocked")
	}
}
