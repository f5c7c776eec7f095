package rpc

import (
	"math/bits"
	"sync"
)

// Message buffers come from size-classed pools so that a steady stream of
// calls allocates no new buffers. Classes are powers of two from 512 B to
// 4 MiB; larger buffers are allocated and left to the GC, as keeping them
// alive would pin memory for rare huge messages.
//
// Small classes live in sync.Pools. Large ones (64 KiB and up) are kept in a
// short free list as well: a sync.Pool is emptied by every other GC, and a
// stream of large messages makes the GC run often, so their buffers kept
// being reallocated, and a fresh large allocation is zeroed first (memclr
// was 7% of CPU in 1 MiB ping-pong). The lists are bounded to about
// largeKeepBytes per class, and at least two buffers (a call's send and its
// peer's receive overlap), so at most 22 MiB stays pinned, and only if
// messages that large were ever in flight together.
const (
	minPoolShift   = 9  // 512 B
	maxPoolShift   = 22 // 4 MiB
	largePoolShift = 16 // 64 KiB: from here on, buffers are also kept in a free list
	largeKeepBytes = 2 << 20
)

var bufPools [maxPoolShift - minPoolShift + 1]sync.Pool

// largeFree holds the free lists of the large classes (index: class -
// largeClass0). Buffered channels: a non-blocking send or receive is cheap
// and safe from any goroutine.
var largeFree = func() (out [maxPoolShift - largePoolShift + 1]chan *[]byte) {
	for i := range out {
		n := largeKeepBytes >> (largePoolShift + i)
		if n < 2 {
			n = 2
		}
		out[i] = make(chan *[]byte, n)
	}
	return
}()

const largeClass0 = largePoolShift - minPoolShift

func poolClass(n int) int {
	if n <= 1<<minPoolShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minPoolShift
}

// getBuf returns a zero-length buffer with capacity of at least n.
func getBuf(n int) *[]byte {
	c := poolClass(n)
	if c >= len(bufPools) {
		b := make([]byte, 0, n)
		return &b
	}
	if c >= largeClass0 {
		select {
		case bp := <-largeFree[c-largeClass0]:
			*bp = (*bp)[:0]
			return bp
		default:
		}
	}
	if v := bufPools[c].Get(); v != nil {
		bp := v.(*[]byte)
		*bp = (*bp)[:0]
		return bp
	}
	b := make([]byte, 0, 1<<(c+minPoolShift))
	return &b
}

// putBuf returns a buffer to its pool. Buffers that grew past their class
// (append reallocated) are filed under the class their capacity fills.
func putBuf(bp *[]byte) {
	if bp == nil {
		return
	}
	c := cap(*bp)
	if c < 1<<minPoolShift || c > 1<<maxPoolShift {
		return
	}
	// Round down: a buffer must satisfy every request of its class.
	cls := bits.Len(uint(c)) - 1 - minPoolShift
	if cls >= largeClass0 {
		select {
		case largeFree[cls-largeClass0] <- bp:
			return
		default:
		}
	}
	bufPools[cls].Put(bp)
}
