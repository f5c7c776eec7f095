package rpc

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Large buffers survive garbage collections (a sync.Pool alone drops its
// contents within two), so a stream of large messages reuses them instead
// of allocating and zeroing new ones.
func TestLargeBuffersSurviveGC(t *testing.T) {
	p := newBufPool()
	a, b := p.get(1<<20+5), p.get(1<<20+5)
	require.GreaterOrEqual(t, cap(*a), 1<<20+5)
	p.put(a)
	p.put(b)
	runtime.GC()
	runtime.GC()
	runtime.GC()
	c, d := p.get(1<<20+5), p.get(1<<20+5)
	require.True(t, (c == a || c == b) && (d == a || d == b) && c != d, "both buffers kept across GCs")
	require.Zero(t, len(*c))
}

// Eight 1 MiB messages in flight at once (unary calls at c=8) each hold a
// 2 MiB buffer; all eight are kept across collections, where a list of two
// per class made six of them new, zeroed and faulted-in allocations after
// every other GC.
func TestEightMiBBuffersInFlightSurviveGC(t *testing.T) {
	p := newBufPool()
	const n, size = 8, 1<<20 + 14 // a 1 MiB message with its prefix and framing
	held := make(map[*[]byte]bool, n)
	bufs := make([]*[]byte, n)
	for i := range bufs {
		bufs[i] = p.get(size)
		held[bufs[i]] = true
	}
	for _, b := range bufs {
		p.put(b)
	}
	runtime.GC()
	runtime.GC()
	runtime.GC()
	for range n {
		b := p.get(size)
		require.True(t, held[b], "a 2 MiB buffer was lost to the GC and allocated anew")
		delete(held, b)
	}
}

// The free lists share one bound: returning more large buffers than
// largeKeepBytes, of any mix of classes, neither blocks nor keeps them all.
func TestLargeFreeListsShareABudget(t *testing.T) {
	p := newBufPool()
	for _, size := range []int{4 << 20, 2 << 20, 64 << 10, 1 << 20} {
		for range 2 * largeKeepBytes / size {
			b := make([]byte, 0, size)
			p.put(&b)
		}
	}
	kept := 0
	for i, l := range p.large {
		kept += len(l) << (largePoolShift + i)
	}
	require.LessOrEqual(t, kept, largeKeepBytes)
	require.Equal(t, int64(kept), p.kept.Load())
	require.Equal(t, largeKeepBytes, kept, "the first class returned filled the budget")
	require.Equal(t, largeKeepBytes>>22, len(p.large[len(p.large)-1]), "only 4 MiB buffers were kept")
}

// Buffers below the large classes and above the largest one stay out of
// the free lists.
func TestSmallAndHugeBuffersNotListed(t *testing.T) {
	p := newBufPool()
	small := p.get(1000)
	p.put(small)
	huge := p.get(8 << 20)
	require.GreaterOrEqual(t, cap(*huge), 8<<20)
	p.put(huge)
	for _, l := range p.large {
		require.Zero(t, len(l))
	}
}

// A message received is never unmarshaled from a buffer that a message sent
// has just left, nor marshaled into one a message received has: the two
// kinds keep to their own pools (see bufpool.go for what mixing them cost).
func TestSendAndReceiveBuffersKeepApart(t *testing.T) {
	const size = 1 << 20
	msg := make([]byte, size)
	for range 3 {
		drainLarge(sendBufs, size+envelopeHeaderLen)
		drainLarge(recvBufs, size+envelopeHeaderLen)
		sent, err := encodeMessage(ProtoCodec, nil, wrapperspb.Bytes(msg), defaultMaxSendMsgSize, 0)
		require.NoError(t, err)
		sendBufs.put(sent)

		f := &framedBytes{in: frame(0, msg), chunk: 1 << 20}
		er := envelopeReader{r: f, maxSize: 4 << 20, last: size}
		_, got, err := er.next()
		require.NoError(t, err)
		require.True(t, sent != got.pooled, "a received message landed in a send buffer")
		got.release()

		next, err := encodeMessage(ProtoCodec, nil, wrapperspb.Bytes(msg), defaultMaxSendMsgSize, 0)
		require.NoError(t, err)
		require.True(t, got.pooled != next, "a message was marshaled into a receive buffer")
		sendBufs.put(next)
	}
}

// drainLarge empties p's free list of the class of n.
func drainLarge(p *bufPool, n int) {
	l := p.large[poolClass(n)-largeClass0]
	for {
		select {
		case <-l:
		default:
			return
		}
	}
}
