package h2

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A chunk one writer goroutine sends: an 8-byte head (writer, sequence
// number, length) and a body whose bytes depend on all three, so that the
// receiver can tell a chunk cut in two, bytes of one chunk inside another,
// a chunk missing or twice, and bytes read from an owned buffer after it
// was given back (the releases spoil them with 'X').
const chunkHead = 8

func chunkOf(writer, seq, size int) []byte {
	b := make([]byte, chunkHead+size)
	b[0] = byte(writer)
	b[1], b[2], b[3] = byte(seq>>16), byte(seq>>8), byte(seq)
	binary.BigEndian.PutUint32(b[4:], uint32(size))
	for j := range size {
		b[chunkHead+j] = chunkByte(writer, seq, j)
	}
	return b
}

func chunkByte(writer, seq, j int) byte { return byte(writer*7 + seq*31 + j%251) }

// requireChunksWhole parses got as the chunks of writers that each sent
// counts[w] of them: every chunk must be whole and unbroken, and each
// writer's chunks must come in the order it sent them.
func requireChunksWhole(t *testing.T, got []byte, counts []int) {
	t.Helper()
	next := make([]int, len(counts))
	for off := 0; off < len(got); {
		require.GreaterOrEqual(t, len(got)-off, chunkHead, "a chunk head cut at %d", off)
		w := int(got[off])
		require.Less(t, w, len(counts), "no chunk head at %d: bytes of a chunk were split or lost", off)
		seq := int(got[off+1])<<16 | int(got[off+2])<<8 | int(got[off+3])
		size := int(binary.BigEndian.Uint32(got[off+4:]))
		require.Equal(t, next[w], seq, "writer %d's chunk at %d is out of order", w, off)
		body := got[off+chunkHead:]
		require.GreaterOrEqual(t, len(body), size, "writer %d's chunk %d cut short", w, seq)
		for j := range size {
			if body[j] != chunkByte(w, seq, j) {
				require.Failf(t, "a chunk's bytes are not its own",
					"writer %d chunk %d (%d bytes, at %d): byte %d is %q", w, seq, size, off, j, body[j])
			}
		}
		next[w]++
		off += chunkHead + size
	}
	require.Equal(t, counts, next, "chunks missing")
}

// Three goroutines write to one stream at once, as Stream's methods allow:
// one hands buffers over with WriteOwned (large ones queued and sent from
// where they are, small ones copied), two lend slices with Write (small ones
// copied into the stream's buffer, large ones framed from the caller's
// memory). The stream's buffer is small, so that a copying Write waits for
// room in the middle of its bytes. Each call's bytes must arrive whole, each
// goroutine's in the order of its calls, and every owned buffer must be
// given back exactly once.
func TestConcurrentWritesAndOwnedWritesKeepEveryCallWhole(t *testing.T) {
	opts := &ClientOptions{Options: Options{Limits: Limits{StreamWriteBuffer: 16 << 10}}}
	transportsWith(t, func() *Server { return &Server{Handler: echoAll} }, opts, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		st.SetDeadline(time.Now().Add(waitLong))
		rel := newReleases()

		const rounds = 24
		sizes := [][]int{
			{zeroCopyMin, 100 << 10, 3000, 200<<10 + 7}, // WriteOwned
			{100, 40 << 10, 128 << 10, 5000, zeroCopyMin + 1},
			{30 << 10, 200, 90 << 10},
		}
		var sent []*[]byte
		var sentMu sync.Mutex
		errs := make(chan error, len(sizes))
		var wg sync.WaitGroup
		for w := range sizes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					b := chunkOf(w, i, sizes[w][i%len(sizes[w])])
					var err error
					if w == 0 {
						sentMu.Lock()
						sent = append(sent, &b)
						sentMu.Unlock()
						_, err = st.WriteOwned(&b, rel.release)
					} else {
						_, err = st.Write(b)
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d, call %d: %w", w, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.NoError(t, st.CloseWrite())

		got, err := io.ReadAll(st)
		require.NoError(t, err)
		requireChunksWhole(t, got, []int{rounds, rounds, rounds})
		rel.requireEachBackOnce(t, sent, "an owned buffer was not given back")
	})
}

// A Write waiting behind a lent Write whose pieces are still in a write
// syscall (the peer stopped reading) when the stream is reset returns the
// reset at once, taking nothing: it must not lend its own slice and reset
// the count of bytes framed that the first Write reports once the kernel is
// done with its pieces.
func TestWriteBehindABlockedLentWriteKeepsItsCountAfterAReset(t *testing.T) {
	goroutineLeakCheck(t)
	c := dialStalledPeer(t)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	type result struct {
		n   int
		err error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	big := make([]byte, 32<<20) // more than the socket buffers hold
	go func() {
		n, err := st.Write(big)
		first <- result{n, err}
	}()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st.zcInFlight > 0
	}, waitLong, time.Millisecond, "the first Write's pieces are being written")
	go func() {
		n, err := st.Write(make([]byte, 2*zeroCopyMin))
		second <- result{n, err}
	}()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st.writeWaiters == 2
	}, waitLong, time.Millisecond, "the second Write waits behind the first")

	st.Reset(ErrCodeCancel)
	select {
	case r := <-second:
		var se *StreamError
		require.ErrorAs(t, r.err, &se)
		require.Equal(t, ErrCodeCancel, se.Code)
		require.Zero(t, r.n)
	case <-time.After(waitLong):
		t.Fatal("the Write behind the blocked one still waits after the reset")
	}
	c.Abort(ErrCodeCancel, nil)
	select {
	case r := <-first:
		require.Error(t, r.err)
		require.Positive(t, r.n, "the first Write's framed bytes were counted over")
		require.Less(t, r.n, len(big))
	case <-time.After(waitLong):
		t.Fatal("the first Write still blocked after the session died")
	}
}

// CloseWrite cuts short a Write that waits for room, as Write's doc says,
// and the Write waiting behind it: both return at once with what went and
// ErrStreamClosed, rather than waiting for window the peer may never give.
func TestCloseWriteEndsWritesWaitingForRoom(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, &ClientOptions{Options: Options{Limits: Limits{StreamWriteBuffer: 16 << 10}}})
	p.serverHandshake() // the RFC's 65,535-byte windows, never opened
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	_, err = st.Write(make([]byte, 60<<10)) // most of the window
	require.NoError(t, err)

	type result struct {
		n   int
		err error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go func() {
		n, err := st.Write(make([]byte, 60<<10)) // waits for room
		first <- result{n, err}
	}()
	require.Eventually(t, func() bool {
		p.sess.mu.Lock()
		defer p.sess.mu.Unlock()
		return st.writing && st.writeWaiters == 1
	}, waitLong, time.Millisecond, "the Write waits for room")
	go func() {
		n, err := st.Write([]byte("next"))
		second <- result{n, err}
	}()
	require.Eventually(t, func() bool {
		p.sess.mu.Lock()
		defer p.sess.mu.Unlock()
		return st.writeWaiters == 2
	}, waitLong, time.Millisecond, "the second Write waits behind the first")

	require.NoError(t, st.CloseWrite())
	for i, ch := range []chan result{first, second} {
		select {
		case r := <-ch:
			require.ErrorIs(t, r.err, ErrStreamClosed, "Write %d", i)
			require.Less(t, r.n, 60<<10, "Write %d", i)
		case <-time.After(waitLong):
			t.Fatalf("Write %d still waits after CloseWrite", i)
		}
	}
}
