package h2

import (
	"bytes"
	"io"
	"net"
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

// A Write whose lent pieces are in a write syscall that cannot finish (the
// peer stopped reading its socket) returns once the session dies: the writer
// releases them when the write fails.
func TestLentWriteReturnsWhenTheSessionDies(t *testing.T) {
	goroutineLeakCheck(t)
	c := dialStalledPeer(t)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := st.Write(make([]byte, 32<<20)) // more than the socket buffers hold
		done <- err
	}()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st.zcInFlight > 0
	}, waitLong, time.Millisecond, "lent pieces are being written")
	time.Sleep(20 * time.Millisecond) // let the write syscall block on the full socket
	select {
	case <-done:
		t.Fatal("Write returned while its bytes were still being written")
	default:
	}
	c.Abort(ErrCodeCancel, nil)
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(waitLong):
		t.Fatal("Write still blocked after the session died")
	}
}

// dialStalledPeer connects to a peer that grants 64 MiB of window, then never
// reads again: a write of any size is accepted by flow control and then
// stays in the socket. The peer goes when the test ends.
func dialStalledPeer(t *testing.T) *Session {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stop, peerDone := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		<-peerDone
		_ = l.Close()
	})
	go func() {
		defer close(peerDone)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		var b []byte
		b = AppendSettings(b, Setting{SettingInitialWindowSize, 64 << 20})
		b = appendWindowUpdate(b, 0, 64<<20)
		_, _ = conn.Write(b)
		<-stop
	}()
	c := dialTest(t, l.Addr().String(), nil)
	require.Eventually(t, func() bool { return c.RemoteSettings().InitialWindowSize == 64<<20 }, waitLong, time.Millisecond)
	return c
}
