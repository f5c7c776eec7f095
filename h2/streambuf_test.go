package h2

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestAppendBufferedKeepsUnreadBytesInOrder(t *testing.T) {
	var buf []byte
	off := 0
	var want []byte
	next := byte(0)
	// Append 700 bytes at a time and consume 500, so the buffer keeps
	// filling while a reader drains it, as with a lagging reader.
	for range 200 {
		chunk := make([]byte, 700)
		for i := range chunk {
			chunk[i] = next
			next++
		}
		buf, off = appendBuffered(buf, off, chunk)
		want = append(want, chunk...)
		n := min(500, len(buf)-off)
		require.True(t, bytes.Equal(want[:n], buf[off:off+n]))
		off += n
		want = want[n:]
	}
	require.True(t, bytes.Equal(want, buf[off:]))
	// 200*200 bytes stay unread: the buffer grew to hold them, no more
	// than twice over.
	require.Equal(t, 40000, len(buf)-off)
	require.LessOrEqual(t, cap(buf), 2*65536)
}

func TestAppendBufferedCompactsBeforeGrowing(t *testing.T) {
	buf := getStreamBuf(4096)
	buf, off := appendBuffered(buf, 0, make([]byte, 4000))
	off += 3900 // a reader took most of it
	before := cap(buf)
	buf, off = appendBuffered(buf, off, bytes.Repeat([]byte{7}, 3000))
	require.Equal(t, before, cap(buf), "the unread bytes moved to the front instead")
	require.Equal(t, 0, off)
	require.Len(t, buf, 3100)
	require.Equal(t, byte(7), buf[len(buf)-1])
}

func TestStreamBufPoolClasses(t *testing.T) {
	for _, n := range []int{0, 1, 2048, 2049, 1 << 20, 4 << 20} {
		b := getStreamBuf(n)
		require.Zero(t, len(b))
		require.GreaterOrEqual(t, cap(b), n)
		require.Zero(t, cap(b)&(cap(b)-1), "a power of two, so it can go back")
		putStreamBuf(b)
	}
	huge := getStreamBuf(5 << 20)
	require.Equal(t, 5<<20, cap(huge), "beyond the classes: exact, left to the GC")
	putStreamBuf(huge)               // ignored
	putStreamBuf(make([]byte, 3000)) // not a class size: ignored
}

func TestStreamBuffersGoBackWhenDrained(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		b := getStreamBuf(1500)
		b, _ = appendBuffered(b, 0, make([]byte, 1024))
		putStreamBuf(b)
	})
	// The pool may be emptied by a GC between runs; in steady state a
	// drained buffer is reused.
	require.Less(t, allocs, 1.0)
}

// giveBackThroughCollections takes n stream buffers of size, gives them all
// back and runs three collections (a sync.Pool is emptied within two): it
// returns the buffers' first bytes, to know them again, and the buffers.
func giveBackThroughCollections(n, size int) (map[*byte]bool, [][]byte) {
	mine := map[*byte]bool{}
	bufs := make([][]byte, 0, n)
	for range n {
		b := getStreamBuf(size)
		mine[unsafe.SliceData(b[:1])] = true
		bufs = append(bufs, b)
	}
	for _, b := range bufs {
		putStreamBuf(b)
	}
	runtime.GC()
	runtime.GC()
	runtime.GC()
	return mine, bufs
}

// TestStreamBuffersListedFrom64KiB: stream buffers of 64 KiB and up given
// back are kept across garbage collections, so a stream of large messages,
// which makes the GC run every few messages, reuses them instead of
// allocating, zeroing and faulting in fresh ones; smaller ones are left to
// the sync.Pool, which the collections empty.
func TestStreamBuffersListedFrom64KiB(t *testing.T) {
	streamBufs.Empty() // what other tests left takes part of the budget
	require.Equal(t, 4, reusedAfterCollections(4, 64<<10))
	require.Zero(t, reusedAfterCollections(4, 32<<10), "32 KiB buffers were pinned")
}

// TestLaggingReadersBuffersSurviveGC: a reader that lags behind a stream of
// 64 KiB messages holds a stream window of frame buffers (64 of 128 KiB at
// the default window); once it gives them back, the next backlog reuses all
// of them after collections, where 8 were kept before and the next backlog
// allocated the rest anew.
func TestLaggingReadersBuffersSurviveGC(t *testing.T) {
	streamBufs.Empty()  // what other tests left takes part of the budget
	const frame = 65545 // a 64 KiB message with its gRPC prefix and protobuf's framing
	window := int(DefaultSettings().InitialWindowSize)
	n := window / frame
	reused := reusedAfterCollections(n, frame+frame/16) // as readFrames asks
	require.Equal(t, n, reused, "buffers of the backlog allocated anew after collections")
}

// TestEightMiBFramesBuffersSurviveGC: eight 1 MiB messages that arrive
// before their readers (unary calls at c=8) each hold a 2 MiB frame buffer;
// all eight are reused after collections, where a budget of 8 MiB kept four
// and the other four were allocated, zeroed and faulted in anew.
func TestEightMiBFramesBuffersSurviveGC(t *testing.T) {
	streamBufs.Empty()      // what other tests left takes part of the budget
	const frame = 1<<20 + 9 // a 1 MiB message with its gRPC prefix and protobuf's framing
	const n = 8
	reused := reusedAfterCollections(n, frame+frame/16) // as readFrames asks
	require.Equal(t, n, reused, "frame buffers allocated anew after collections")
}

// Bytes that arrive while a large buffer is full of unread bytes go into a
// new buffer queued behind it: the full one is neither grown nor compacted
// (both copy what it holds), and a read across the two gets every byte in
// order.
func TestAFullLargeBufferIsChainedNotGrown(t *testing.T) {
	p, st := inPlacePeer(t)
	body := pattern(5 * 40 << 10)
	for i := 0; i < len(body); i += 40 << 10 {
		p.mustWrite(appendData(nil, 1, i+40<<10 == len(body), body[i:i+40<<10]))
		if i == 0 {
			waitBuffered(t, st, 40<<10)
		}
	}
	eventually(t, "the stream has its body", func() bool { return st.InboundEnded() })
	st.s.mu.Lock()
	head, queued := cap(st.in), len(st.queuedInLocked())
	st.s.mu.Unlock()
	require.Equal(t, 64<<10, head, "the first buffer grew")
	require.Equal(t, 2, queued) // 64 KiB, then 128 KiB and 256 KiB

	got, err := io.ReadAll(st)
	require.NoError(t, err)
	require.True(t, bytes.Equal(body, got), "the body arrived changed")
}

// reusedAfterCollections gives n stream buffers of size back to the free
// lists, lets collections pass, and counts how many of the next n taken are
// the same buffers.
func reusedAfterCollections(n, size int) int {
	mine, bufs := giveBackThroughCollections(n, size)
	reused := 0
	for i := range bufs {
		bufs[i] = getStreamBuf(size)
		if mine[unsafe.SliceData(bufs[i][:1])] {
			reused++
		}
	}
	for _, b := range bufs {
		putStreamBuf(b)
	}
	return reused
}
