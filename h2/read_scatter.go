package h2

// Scattered reads. A large DATA frame's payload (one that does not fit the
// read buffer) is read from the connection straight into its destination
// (read.go). Where it ends, the next frame begins, and with a plain read the
// reader learns where that frame goes only from its header: so it either
// read the header with a read of its own (two system calls per frame) or,
// as it did, read whatever the buffer held, header and much of the next
// payload, and then copied that payload out of the buffer. With one stream
// of 64 KiB messages the copies came to a third of the payload bytes and
// reads to 1.25 per message.
//
// On a socket the payload's last read is a readv of two buffers instead:
// the rest of the payload, and at most scatterTail bytes of the read buffer
// for what follows, which is enough for the next frame's header and for the
// small frames (WINDOW_UPDATE, trailers) that come between large ones. The
// next large payload then finds its first bytes in the buffer, copies those
// few, and reads the rest the same way: one system call per frame, and at
// most scatterTail bytes copied.

// scatterReader reads into two buffers with one system call: a first, then
// b. It returns the bytes read in all, as Read would.
type scatterReader interface {
	ReadScatter(a, b []byte) (int, error)
}

// scatterTail bounds what a scattered read, or the read after one (fill),
// takes into the read buffer: what Read copies of the next large payload.
const scatterTail = 4 << 10

// readScatter reads p and the bytes after it (into buf, at most scatterTail
// of them) with one read; the caller has consumed everything buffered.
func (b *connReader) readScatter(p []byte) (int, error) {
	b.r, b.w = 0, 0
	tail := b.buf[:min(len(b.buf), scatterTail)]
	b.reads++
	n, err := b.scatter.ReadScatter(p, tail)
	if n > len(p) {
		b.w = n - len(p)
		n = len(p)
	}
	b.full = b.w == len(tail)
	b.afterLarge = true
	return n, err
}
