package rpc

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// Large buffers survive garbage collections (a sync.Pool alone drops its
// contents within two), so a stream of large messages reuses them instead
// of allocating and zeroing new ones.
func TestLargeBuffersSurviveGC(t *testing.T) {
	drainLarge(1 << 20)
	a, b := getBuf(1<<20+5), getBuf(1<<20+5)
	require.GreaterOrEqual(t, cap(*a), 1<<20+5)
	putBuf(a)
	putBuf(b)
	runtime.GC()
	runtime.GC()
	runtime.GC()
	c, d := getBuf(1<<20+5), getBuf(1<<20+5)
	require.True(t, (c == a || c == b) && (d == a || d == b) && c != d, "both buffers kept across GCs")
	require.Zero(t, len(*c))
	putBuf(c)
	putBuf(d)
}

// The free lists are bounded: returning more buffers than a list holds
// neither blocks nor keeps them all.
func TestLargeFreeListIsBounded(t *testing.T) {
	drainLarge(4 << 20)
	list := largeFree[len(largeFree)-1]
	for i := 0; i < 10; i++ {
		b := make([]byte, 0, 4<<20)
		putBuf(&b)
	}
	require.Equal(t, cap(list), len(list))
	require.Equal(t, 2, cap(list), "the 4 MiB class keeps two buffers")
	require.Equal(t, 32, cap(largeFree[0]), "the 64 KiB class keeps 2 MiB worth")
	drainLarge(4 << 20)
}

// Buffers below the large classes and above the largest one stay out of
// the free lists.
func TestSmallAndHugeBuffersNotListed(t *testing.T) {
	for i := range largeFree {
		drainLarge(1 << (largePoolShift + i))
	}
	small := getBuf(1000)
	putBuf(small)
	huge := getBuf(8 << 20)
	require.GreaterOrEqual(t, cap(*huge), 8<<20)
	putBuf(huge)
	for _, l := range largeFree {
		require.Zero(t, len(l))
	}
}

// drainLarge empties the free list of the class of n.
func drainLarge(n int) {
	l := largeFree[poolClass(n)-largeClass0]
	for {
		select {
		case <-l:
		default:
			return
		}
	}
}
