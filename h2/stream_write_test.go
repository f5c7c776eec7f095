package h2

import (
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// releases records the buffers WriteOwned gives back, in order, and spoils
// each as a pool's next user would: bytes still to be sent from it would
// arrive changed.
type releases struct {
	mu   sync.Mutex
	bufs []*[]byte
	got  chan struct{}
}

func newReleases() *releases { return &releases{got: make(chan struct{}, 64)} }

func (r *releases) release(bp *[]byte) {
	for i := range *bp {
		(*bp)[i] = 'X'
	}
	r.mu.Lock()
	r.bufs = append(r.bufs, bp)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *releases) list() []*[]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*[]byte(nil), r.bufs...)
}

// Buffers handed over with WriteOwned arrive whole and unchanged, large ones
// (sent from where they are, over TCP without a copy) and small ones (copied
// and given back before WriteOwned returns) alike, and each is given back
// exactly once, after h2 is done with it.
func TestWriteOwnedSendsEveryBufferIntactAndGivesItBack(t *testing.T) {
	transports(t, func() *Server { return &Server{Handler: echoAll} }, func(t *testing.T, c *Session) {
		rel := newReleases()
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		var want []byte
		var sent []*[]byte
		for i, size := range []int{1 << 20, 100 << 10, 1 << 10, 1 << 20, zeroCopyMin} {
			b := bytes.Repeat([]byte{byte('a' + i)}, size)
			want = append(want, b...)
			bp := &b
			sent = append(sent, bp)
			n, err := st.WriteOwned(bp, rel.release)
			require.NoError(t, err)
			require.Equal(t, size, n)
			if size < zeroCopyMin {
				require.Same(t, bp, rel.list()[len(rel.list())-1], "a small buffer is copied and given back at once")
			}
		}
		require.NoError(t, st.CloseWrite())
		st.SetDeadline(time.Now().Add(waitLong))
		got, err := io.ReadAll(st)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "the peer saw bytes changed after their buffer was given back")
		require.Eventually(t, func() bool { return len(rel.list()) == len(sent) }, waitLong, time.Millisecond)
		require.ElementsMatch(t, sent, rel.list(), "every buffer is given back once")
	})
}

// WriteOwned returns once its buffer is queued, not once it is written (the
// peer here reads nothing, so a Write of the same bytes would block), and
// gives the buffer back only once the kernel is done with it: here when the
// session dies and its write fails.
func TestWriteOwnedReturnsBeforeItsBytesAreWritten(t *testing.T) {
	goroutineLeakCheck(t)
	c := dialStalledPeer(t)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)

	rel := newReleases()
	b := make([]byte, 32<<20) // more than the socket buffers hold
	done := make(chan error, 1)
	go func() {
		_, err := st.WriteOwned(&b, rel.release)
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitLong):
		t.Fatal("WriteOwned waited for its bytes to be written")
	}
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st.zcInFlight > 0
	}, waitLong, time.Millisecond, "the buffer is being written")
	require.Empty(t, rel.list(), "the buffer was given back while the kernel still read it")

	c.Abort(ErrCodeCancel, nil)
	select {
	case <-rel.got:
		require.Same(t, &b, rel.list()[0])
	case <-time.After(waitLong):
		t.Fatal("the buffer was not given back after the session died")
	}
}

// A write behind a WriteOwned buffer that waits for flow control gives up
// when its deadline passes: no caller waits on the buffer to give up for it.
func TestWriteBehindAnOwnedBufferKeepsItsDeadline(t *testing.T) {
	p := newClientPeer(t, nil)
	p.serverHandshake() // the RFC's 65,535-byte windows
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	b := make([]byte, 1<<20)
	_, err = st.WriteOwned(&b, func(*[]byte) {})
	require.NoError(t, err)

	st.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := st.Write([]byte("next"))
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(waitLong):
		t.Fatal("the write waited past its deadline")
	}
}
