package h2

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoAll answers a request with its whole body.
var echoAll = HandlerFunc(func(st *Stream) {
	body, err := io.ReadAll(st)
	if err != nil {
		st.Reset(ErrCodeInternal)
		return
	}
	_, _ = st.Write(body)
})

func TestLentWriteIsNotCopiedOverTCP(t *testing.T) {
	body := bytes.Repeat([]byte("lent"), 256<<10) // 1 MiB
	transports(t, func() *Server { return &Server{Handler: echoAll} }, func(t *testing.T, c *Session) {
		_, got, err := roundTrip(ctxT(t), c, "/", body)
		require.NoError(t, err)
		require.True(t, bytes.Equal(body, got))
		c.mu.Lock()
		lent := c.lentFrames
		c.mu.Unlock()
		if c.gather {
			require.Positive(t, lent, "a large Write over TCP goes out uncopied")
		} else {
			require.Zero(t, lent, "a pipe cannot gather: the writer copies")
		}
	})
}

// A lent slice is on its way to the kernel until the write returns: Write
// must not return before, or the caller's next use of the buffer would
// change bytes already "sent".
func TestLentWriteReturnsOnlyOnceWritten(t *testing.T) {
	// The server starts reading late, so that the socket buffers fill and
	// the last write syscall blocks while the Write could already return.
	slowEcho := HandlerFunc(func(st *Stream) {
		time.Sleep(50 * time.Millisecond)
		echoAll(st)
	})
	transports(t, func() *Server { return &Server{Handler: slowEcho} }, func(t *testing.T, c *Session) {
		for i := range 3 {
			want := bytes.Repeat([]byte{byte('a' + i)}, 3<<20) // within one stream window
			p := bytes.Clone(want)
			st, err := c.Request(ctxT(t), post("/"), nil)
			require.NoError(t, err)
			n, err := st.Write(p)
			require.NoError(t, err)
			require.Equal(t, len(p), n)
			// The caller reuses its buffer at once, from the end: the last
			// bytes framed are the ones most likely still in flight.
			for j := len(p) - 1; j >= 0; j-- {
				p[j] = 'X'
			}
			require.NoError(t, st.CloseWrite())
			st.SetDeadline(time.Now().Add(waitLong))
			got, err := io.ReadAll(st)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "round %d: the peer saw bytes written after Write returned", i)
		}
	})
}

// A reset while a large Write waits for window drops the rest of the slice:
// Write must report how much went out and an error, not success.
func TestLentWriteResetReportsShortWrite(t *testing.T) {
	release := make(chan struct{})
	srv := func() *Server {
		return &Server{Handler: HandlerFunc(func(st *Stream) {
			select { // never reads: the client runs out of window
			case <-release:
			case <-st.Context().Done():
			}
		})}
	}
	defer close(release)
	transports(t, srv, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		p := make([]byte, 3*int(DefaultSettings().InitialWindowSize))
		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			n, err := st.Write(p)
			done <- result{n, err}
		}()
		require.Eventually(t, func() bool {
			return st.Stats().BytesSent >= int64(DefaultSettings().InitialWindowSize)
		}, waitLong, time.Millisecond, "the window's worth goes out")
		st.Reset(ErrCodeCancel)
		select {
		case r := <-done:
			require.Error(t, r.err)
			require.Less(t, r.n, len(p))
			require.GreaterOrEqual(t, r.n, int(DefaultSettings().InitialWindowSize))
		case <-time.After(waitLong):
			t.Fatal("Write still blocked after the reset")
		}
	})
}
