package rpc

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Message buffers come from size-classed pools so that a steady stream of
// calls allocates no new buffers. Classes are powers of two from 512 B to
// 4 MiB; larger buffers are allocated and left to the GC, as keeping them
// alive would pin memory for rare huge messages.
//
// Small classes live in sync.Pools. Large ones (64 KiB and up) are kept in a
// free list as well: a sync.Pool is emptied by every other GC, and a stream
// of large messages makes the GC run often, so their buffers kept being
// reallocated, and a fresh large allocation is zeroed first (memclr was 7%
// of CPU in 1 MiB ping-pong).
//
// The lists of a pool share one budget, largeKeepBytes, rather than keeping
// a little per class: the classes in use are those of the messages the
// application sends, and it is their buffers that must survive. With 2 MiB
// per class, a 1 MiB message (1,048,590 bytes with its prefix and protobuf's
// framing, so a 2 MiB buffer) had two kept, and eight calls in flight
// allocated, zeroed and faulted in a 2 MiB buffer for about one call in six
// after every collection (7 % of the bytes a unary 1 MiB benchmark at c=8
// allocated). A pool pins at most largeKeepBytes, and only as many buffers
// as were in use together once.
//
// Sending and receiving draw on separate pools (sendBufs, recvBufs). A send
// buffer is written by the marshaler and read by the kernel; a receive
// buffer is written by the kernel (in the connection's reader goroutine) and
// read by the unmarshaler. With one pool the two kinds took
// each other's place, and marshaling 1 MiB into a buffer the kernel had just
// filled with a received message ran at half speed: 139 µs against 62 µs in
// a profile of 1 MiB ping-pong, whose round trips got 13-15% faster apart.
const (
	minPoolShift   = 9  // 512 B
	maxPoolShift   = 22 // 4 MiB
	largePoolShift = 16 // 64 KiB: from here on, buffers are also kept in a free list
	// largeKeepBytes is what a pool's free lists keep in all: eight 1 MiB
	// messages in flight, each in a 2 MiB buffer.
	largeKeepBytes = 16 << 20
)

const (
	poolClasses = maxPoolShift - minPoolShift + 1
	largeClass0 = largePoolShift - minPoolShift // the first class with a free list
)

// bufPool is one set of size classes.
type bufPool struct {
	small [poolClasses]sync.Pool
	// large holds the free lists of the large classes (index: class -
	// largeClass0). Buffered channels: a non-blocking send or receive is
	// cheap and safe from any goroutine.
	large [poolClasses - largeClass0]chan *[]byte
	// kept is how many bytes the free lists hold: a buffer goes into one
	// only while that stays within largeKeepBytes.
	kept atomic.Int64
}

var (
	sendBufs = newBufPool() // messages being marshaled (and compressed) to send
	recvBufs = newBufPool() // messages being received (and decompressed) to unmarshal
)

func newBufPool() *bufPool {
	p := new(bufPool)
	for i := range p.large {
		p.large[i] = make(chan *[]byte, largeKeepBytes>>(largePoolShift+i))
	}
	return p
}

func poolClass(n int) int {
	if n <= 1<<minPoolShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minPoolShift
}

// get returns a zero-length buffer with capacity of at least n.
func (p *bufPool) get(n int) *[]byte {
	c := poolClass(n)
	if c >= poolClasses {
		b := make([]byte, 0, n)
		return &b
	}
	if c >= largeClass0 {
		select {
		case bp := <-p.large[c-largeClass0]:
			p.kept.Add(-int64(cap(*bp)))
			*bp = (*bp)[:0]
			return bp
		default:
		}
	}
	if v := p.small[c].Get(); v != nil {
		bp := v.(*[]byte)
		*bp = (*bp)[:0]
		return bp
	}
	b := make([]byte, 0, 1<<(c+minPoolShift))
	return &b
}

// releaseSendBuf gives a send buffer back to sendBufs: what h2 calls once a
// buffer handed over with Stream.WriteOwned has been sent. A plain function,
// so that handing it over allocates nothing.
func releaseSendBuf(bp *[]byte) { sendBufs.put(bp) }

// put returns a buffer to the pool. Buffers that grew past their class
// (append reallocated) are filed under the class their capacity fills.
func (p *bufPool) put(bp *[]byte) {
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
		if p.kept.Add(int64(c)) <= largeKeepBytes {
			select {
			case p.large[cls-largeClass0] <- bp:
				return
			default:
			}
		}
		p.kept.Add(-int64(c))
	}
	p.small[cls].Put(bp)
}
