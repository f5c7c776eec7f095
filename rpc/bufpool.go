package rpc

import (
	"sync"

	"github.com/h2rpc/h2rpc/internal/sizeclass"
)

// Message buffers come from size-classed pools so that a steady stream of
// calls allocates no new buffers. Classes run from 512 B to 4 MiB, powers of
// two up to 64 KiB and four per doubling above (internal/sizeclass: a 1 MiB
// message, just over 1 MiB with its prefix, takes 1.25 MiB, not 2 MiB).
// Larger buffers are allocated and left to the GC, as keeping them alive
// would pin memory for rare huge messages.
//
// Small classes live in sync.Pools. Large ones (64 KiB and up) are kept in a
// short free list as well: a sync.Pool is emptied by every other GC, and a
// stream of large messages makes the GC run often, so their buffers kept
// being reallocated, and a fresh large allocation is zeroed first (memclr
// was 7% of CPU in 1 MiB ping-pong). The lists are bounded to about
// largeKeepBytes per class, and at least two buffers (two calls in flight, or
// a process that is client and server at once), so each pool pins at most
// 71 MiB (25 classes), and only if messages of every large size were in
// flight together.
//
// Sending and receiving draw on separate pools (sendBufs, recvBufs). A send
// buffer is written by the marshaler and read by the kernel; a receive
// buffer is written by the kernel (in the connection's reader goroutine) and
// read by the unmarshaler. With one pool the two kinds took
// each other's place, and marshaling 1 MiB into a buffer the kernel had just
// filled with a received message ran at half speed: 139 µs against 62 µs in
// a profile of 1 MiB ping-pong, whose round trips got 13-15% faster apart.
const (
	minPoolSize    = 512
	maxPoolSize    = 4 << 20
	largePoolSize  = 64 << 10 // from here on, buffers are also kept in a free list
	largeKeepBytes = 2 << 20
)

var (
	minPoolIndex = sizeclass.Index(minPoolSize)
	poolClasses  = sizeclass.Index(maxPoolSize) - minPoolIndex + 1
	largeClass0  = sizeclass.Index(largePoolSize) - minPoolIndex // the first class with a free list
)

// bufPool is one set of size classes.
type bufPool struct {
	small []sync.Pool // one per class
	// large holds the free lists of the large classes (index: class -
	// largeClass0). Buffered channels: a non-blocking send or receive is
	// cheap and safe from any goroutine.
	large []chan *[]byte
}

var (
	sendBufs = newBufPool() // messages being marshaled (and compressed) to send
	recvBufs = newBufPool() // messages being received (and decompressed) to unmarshal
)

func newBufPool() *bufPool {
	p := &bufPool{
		small: make([]sync.Pool, poolClasses),
		large: make([]chan *[]byte, poolClasses-largeClass0),
	}
	for i, size := 0, largePoolSize; i < len(p.large); i, size = i+1, sizeclass.Up(size+1) {
		p.large[i] = make(chan *[]byte, max(largeKeepBytes/size, 2))
	}
	return p
}

// poolClass returns the class of a buffer that holds n bytes, and its size.
func poolClass(n int) (class, size int) {
	size = sizeclass.Up(max(n, minPoolSize))
	return sizeclass.Index(size) - minPoolIndex, size
}

// get returns a zero-length buffer with capacity of at least n.
func (p *bufPool) get(n int) *[]byte {
	c, size := poolClass(n)
	if c >= poolClasses {
		b := make([]byte, 0, n)
		return &b
	}
	if c >= largeClass0 {
		select {
		case bp := <-p.large[c-largeClass0]:
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
	b := make([]byte, 0, size)
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
	if c < minPoolSize || c > maxPoolSize {
		return
	}
	// Round down: a buffer must satisfy every request of its class.
	cls := sizeclass.Index(sizeclass.Down(c)) - minPoolIndex
	if cls >= largeClass0 {
		select {
		case p.large[cls-largeClass0] <- bp:
			return
		default:
		}
	}
	p.small[cls].Put(bp)
}
