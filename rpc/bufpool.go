package rpc

import "github.com/h2rpc/h2rpc/internal/freelist"

// Message buffers come from size-classed pools so that a steady stream of
// calls allocates no new buffers. Classes are powers of two from 512 B to
// 4 MiB; larger buffers are allocated and left to the GC, as keeping them
// alive would pin memory for rare huge messages.
//
// Small classes live in sync.Pools. Large ones (64 KiB and up) are kept in a
// free list as well (internal/freelist): a sync.Pool is emptied by every
// other GC, and a stream of large messages makes the GC run often, so their
// buffers kept being reallocated, and a fresh large allocation is zeroed
// first (memclr was 7% of CPU in 1 MiB ping-pong).
//
// The lists of a pool share one budget, 16 MiB, rather than keeping a
// little per class: the classes in use are those of the messages the
// application sends, and it is their buffers that must survive. With 2 MiB
// per class, a 1 MiB message (1,048,590 bytes with its prefix and protobuf's
// framing, so a 2 MiB buffer) had two kept, and eight calls in flight
// allocated, zeroed and faulted in a 2 MiB buffer for about one call in six
// after every collection (7 % of the bytes a unary 1 MiB benchmark at c=8
// allocated). A pool pins at most its budget, and only as many buffers as
// were in use together once.
//
// Sending and receiving draw on separate pools (sendBufs, recvBufs). A send
// buffer is written by the marshaler and read by the kernel; a receive
// buffer is written by the kernel (in the connection's reader goroutine) and
// read by the unmarshaler. With one pool the two kinds took
// each other's place, and marshaling 1 MiB into a buffer the kernel had just
// filled with a received message ran at half speed: 139 µs against 62 µs in
// a profile of 1 MiB ping-pong, whose round trips got 13-15% faster apart.
var (
	sendBufs = newBufPool() // messages being marshaled (and compressed) to send
	recvBufs = newBufPool() // messages being received (and decompressed) to unmarshal
)

// bufPool is one set of size classes, with free lists from 64 KiB up.
type bufPool struct {
	free *freelist.Pool[*[]byte]
}

func newBufPool() *bufPool {
	return &bufPool{free: freelist.New[*[]byte](freelist.Config{
		MinShift:  9,  // 512 B
		MaxShift:  22, // 4 MiB
		ListShift: 16, // 64 KiB
		// Eight 1 MiB messages in flight, each in a 2 MiB buffer.
		Budget: 16 << 20,
	})}
}

// get returns a zero-length buffer with capacity of at least n.
func (p *bufPool) get(n int) *[]byte {
	c, ok := p.free.Class(n)
	if !ok {
		b := make([]byte, 0, n)
		return &b
	}
	if bp, ok := p.free.Get(c); ok {
		*bp = (*bp)[:0]
		return bp
	}
	b := make([]byte, 0, p.free.Size(c))
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
	if c, ok := p.free.ClassOf(cap(*bp)); ok {
		p.free.Put(c, bp, cap(*bp))
	}
}
