package rpc

import (
	"math/bits"
	"sync"
)

// Message buffers come from size-classed pools so that a steady stream of
// calls allocates no new buffers. Classes are powers of two from 512 B to
// 4 MiB; larger buffers are allocated and left to the GC, as keeping them
// alive would pin memory for rare huge messages.
const (
	minPoolShift = 9  // 512 B
	maxPoolShift = 22 // 4 MiB
)

var bufPools [maxPoolShift - minPoolShift + 1]sync.Pool

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
	bufPools[cls].Put(bp)
}
