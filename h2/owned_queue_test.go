package h2

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ownedPattern is a buffer whose bytes tell where they belong: the message
// index and the position in it, so that bytes out of order, from the wrong
// buffer, or from a buffer already given back (the releases spoil them) show.
func ownedPattern(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*31 + j%251)
	}
	return b
}

// A sender of large owned buffers queues the next one while the previous
// one is still being written, and is held once ownedAheadMin buffers wait to
// be framed when they are large: the peer here reads nothing, so the first buffer's writev never
// returns. When the session dies, every buffer is given back exactly once,
// the one the last WriteOwned could not queue included.
func TestOwnedBuffersQueueBehindOneBeingWritten(t *testing.T) {
	goroutineLeakCheck(t)
	c := dialStalledPeer(t)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	rel := newReleases()

	first := make([]byte, 32<<20) // more than the socket buffers hold
	_, err = st.WriteOwned(&first, rel.release)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st.zcInFlight > 0
	}, waitLong, time.Millisecond, "the first buffer is being written")

	// The first buffer, partly framed, is one of the ownedAheadMin; the rest
	// queue without waiting for its write.
	sent := []*[]byte{&first}
	for i := 1; i < ownedAheadMin; i++ {
		b := make([]byte, zeroCopyMin)
		queued := make(chan error, 1)
		go func() { _, err := st.WriteOwned(&b, rel.release); queued <- err }()
		select {
		case err := <-queued:
			require.NoError(t, err)
		case <-time.After(waitLong):
			t.Fatal("WriteOwned waited for the previous buffer's write")
		}
		sent = append(sent, &b)
	}

	over := make([]byte, zeroCopyMin)
	sent = append(sent, &over)
	refused := make(chan error, 1)
	go func() { _, err := st.WriteOwned(&over, rel.release); refused <- err }()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st.writeWaiters == 1
	}, waitLong, time.Millisecond, "the write beyond the queue's bound waits for room")
	require.Empty(t, refused)
	require.Empty(t, rel.list(), "a buffer was given back while the kernel still read it or before it was sent")
	c.mu.Lock()
	require.Equal(t, ownedAheadMin, st.owned.n)
	c.mu.Unlock()

	c.Abort(ErrCodeCancel, nil)
	select {
	case err := <-refused:
		require.Error(t, err)
	case <-time.After(waitLong):
		t.Fatal("the waiting WriteOwned did not return when the session died")
	}
	rel.requireEachBackOnce(t, sent, "a buffer was not given back after the session died")
}

// How far a sender may queue ahead of the writer depends on its buffers'
// sizes: eight 64 KiB messages, three of 200 KiB, two of 1 MiB or more.
// Buffers already framed, waiting only for their writev, leave room for more
// up to ownedHeld.
func TestOwnedQueueRoomFollowsBufferSizes(t *testing.T) {
	big := make([]byte, 32<<20)
	for _, c := range []struct{ size, ahead int }{
		{zeroCopyMin, ownedAheadMax},
		{200 << 10, 3},
		{1 << 20, ownedAheadMin},
		{len(big), ownedAheadMin},
	} {
		st := &Stream{owned: &ownedQueue{}}
		q := st.owned
		queueWhileRoom := func() int {
			n := 0
			for st.ownedRoomLocked() {
				b := big[:c.size]
				q.bufs[q.n] = ownedBuf{bp: &b}
				q.n++
				n++
			}
			return n
		}
		require.Equal(t, c.ahead, queueWhileRoom(), "buffers of %d bytes queued ahead", c.size)
		q.framed = q.n // all framed, their writes still out
		require.Equal(t, min(c.ahead, ownedHeld-q.n), queueWhileRoom(), "buffers of %d bytes queued behind framed ones", c.size)
		require.LessOrEqual(t, q.n, ownedHeld)
	}
}

// Many owned buffers sent back to back, so that several are queued at once,
// arrive whole and in order, with lent Writes between them waiting their
// turn behind the queued ones, and each buffer is given back exactly once
// (spoiled as it is, so bytes read from it after that would show).
func TestQueuedOwnedBuffersArriveInOrderAndGoBackOnce(t *testing.T) {
	transports(t, func() *Server { return &Server{Handler: echoAll} }, func(t *testing.T, c *Session) {
		rel := newReleases()
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		sizes := []int{zeroCopyMin, zeroCopyMin + 5, 100 << 10, 300 << 10}
		var want []byte
		var sent []*[]byte
		for i := range 48 {
			b := ownedPattern(i, sizes[i%len(sizes)])
			want = append(want, b...)
			sent = append(sent, &b)
			_, err := st.WriteOwned(&b, rel.release)
			require.NoError(t, err)
			switch i % 16 {
			case 5: // a lent Write copied into the stream's buffer
				lent := ownedPattern(1000+i, 100)
				want = append(want, lent...)
				_, err = st.Write(lent)
				require.NoError(t, err)
			case 11: // a lent Write sent from its own slice
				lent := ownedPattern(1000+i, 128<<10)
				want = append(want, lent...)
				_, err = st.Write(lent)
				require.NoError(t, err)
			}
		}
		last := ownedPattern(99, 200<<10)
		want = append(want, last...)
		sent = append(sent, &last)
		_, err = st.EndOwned(&last, rel.release, nil)
		require.NoError(t, err)

		st.SetDeadline(time.Now().Add(waitLong))
		got, err := io.ReadAll(st)
		require.NoError(t, err)
		require.Equal(t, len(want), len(got))
		require.True(t, bytes.Equal(want, got), "bytes out of order, or read from a buffer after it was given back")
		require.Eventually(t, func() bool { return len(rel.list()) == len(sent) }, waitLong, time.Millisecond)
		require.ElementsMatch(t, sent, rel.list(), "every buffer is given back exactly once")
	})
}

// The stream's END_STREAM goes on the last frame of the last owned buffer
// queued, not on the last frame of the one being framed when the stream
// ended: here the end is queued while the first buffer waits for window.
func TestEndStreamFollowsEveryQueuedOwnedBuffer(t *testing.T) {
	p := newClientPeer(t, nil)
	p.serverHandshake() // the RFC's 65,535-byte windows
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	rel := newReleases()
	a, b := ownedPattern(1, 100<<10), ownedPattern(2, 80<<10)
	_, err = st.WriteOwned(&a, rel.release)
	require.NoError(t, err)
	_, err = st.EndOwned(&b, rel.release, nil)
	require.NoError(t, err)

	p.mustWrite(appendWindowUpdate(nil, 0, 1<<20))
	p.mustWrite(appendWindowUpdate(nil, 1, 1<<20))
	got := p.body(1)
	require.Equal(t, len(a)+len(b), len(got), "END_STREAM came before the last queued buffer")
	require.True(t, bytes.Equal(append(ownedPattern(1, 100<<10), ownedPattern(2, 80<<10)...), got))
	require.Eventually(t, func() bool { return len(rel.list()) == 2 }, waitLong, time.Millisecond)
	require.ElementsMatch(t, []*[]byte{&a, &b}, rel.list())
}

// A stream reset while several owned buffers wait (one for window, one
// queued behind it) gives each back exactly once.
func TestResetStreamGivesEveryQueuedOwnedBufferBack(t *testing.T) {
	p := newClientPeer(t, nil)
	p.serverHandshake() // the RFC's 65,535-byte windows
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	rel := newReleases()
	var sent []*[]byte
	for i := range ownedAheadMin {
		b := ownedPattern(i, 1<<20)
		sent = append(sent, &b)
		_, err := st.WriteOwned(&b, rel.release)
		require.NoError(t, err)
	}
	require.Empty(t, rel.list(), "given back while waiting for window")
	st.Reset(ErrCodeCancel)
	rel.requireEachBackOnce(t, sent, "the reset stream kept an owned buffer")
}
