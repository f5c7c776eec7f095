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

// The free lists are bounded: returning more buffers than a list holds
// neither blocks nor keeps them all.
func TestLargeFreeListIsBounded(t *testing.T) {
	p := newBufPool()
	list := p.large[len(p.large)-1]
	for i := 0; i < 10; i++ {
		b := make([]byte, 0, 4<<20)
		p.put(&b)
	}
	require.Equal(t, cap(list), len(list))
	require.Equal(t, 2, cap(list), "the 4 MiB class keeps two buffers")
	require.Equal(t, 32, cap(p.large[0]), "the 64 KiB class keeps 2 MiB worth")
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
