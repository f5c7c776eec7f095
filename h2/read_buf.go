package h2

import (
	"io"
	"sync"
)

// connReader is the session reader's buffer over the connection. An idle
// connection must not hold a large buffer (at 100,000 connections, 64 KiB
// each is 6.5 GB), yet a busy one must read in large batches. So the reader
// owns only a small buffer, enough for the batches of small calls, and
// borrows a 64 KiB one from a pool while more bytes arrive than that holds:
// when a read fills the small buffer, when a frame does not fit in it, and
// for as long as reads keep filling the large one. A read that leaves room
// means the connection had nothing more for now; once its bytes are used,
// the large buffer goes back and the next wait happens in the small one.
type connReader struct {
	conn  io.Reader
	buf   []byte  // where bytes are read: small, or the borrowed (*big)
	big   *[]byte // borrowed from readBufs while not nil
	small []byte
	r, w  int  // buf[r:w] holds the bytes read and not yet consumed
	full  bool // the last read filled all the room it had: more is likely waiting
	err   error

	// scatter reads a large frame's payload and what follows it with one
	// system call (read_scatter.go). It is made by the first payload read
	// straight into its destination, so that the many connections that never
	// carry a large frame (idle ones, health checks) do not hold it;
	// noScatter once the connection turned out not to support it.
	scatter   scatterReader
	noScatter bool
	// afterLarge: a large frame's payload was read into its destination
	// and no read into buf followed yet (see fill).
	afterLarge bool
	// reads counts reads from the connection and copied the bytes handed
	// from buf to a Read: what the tests of the read path measure.
	reads, copied int
}

const (
	// readBufSize is the large buffer: a batch of frames, and the largest
	// frame read through the buffer (larger ones are read into their
	// destination, read.go).
	readBufSize = 64 << 10
	// smallReadSize holds a small call's frames (headers, a short message,
	// trailers) so that such a batch takes one read and borrows nothing.
	smallReadSize = 1 << 10
	// maxSmallReadSize bounds how far the small buffer grows to hold a
	// frame that did not fit (see fill): a 1 KiB message's DATA frame is
	// 9 + 5 + 1 KiB and a few bytes of its own framing. With the buffer
	// at 1 KiB every such frame took two reads (one filling the buffer, one
	// for its last bytes), and ping-pong of 1 KiB messages made 6 reads per
	// round trip instead of 4. Growing only where such frames come keeps
	// idle connections at 1 KiB.
	maxSmallReadSize = 4 << 10
)

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

func newConnReader(conn io.Reader) *connReader {
	small := make([]byte, smallReadSize)
	return &connReader{conn: conn, buf: small, small: small}
}

// Size is the largest n Peek accepts.
func (b *connReader) Size() int { return readBufSize }

// Buffered is how many bytes can be had without reading the connection.
func (b *connReader) Buffered() int { return b.w - b.r }

// Peek returns the next n bytes (n <= Size) without consuming them, reading
// the connection as needed. The slice is valid until the next Peek or Read.
func (b *connReader) Peek(n int) ([]byte, error) {
	for b.w-b.r < n {
		if err := b.fill(n); err != nil {
			return nil, err
		}
	}
	return b.buf[b.r : b.r+n], nil
}

// Discard consumes n buffered bytes (n <= Buffered).
func (b *connReader) Discard(n int) (int, error) {
	b.r += n
	return n, nil
}

// Read hands over buffered bytes first; with none buffered, a p as large as
// the small buffer is read into directly (a large frame's payload), and
// where the connection can scatter, any p is, together with what follows it
// (readScatter).
func (b *connReader) Read(p []byte) (int, error) {
	if b.r == b.w {
		if b.err != nil {
			return 0, b.err
		}
		if len(p) > 0 && b.canScatter() {
			return b.readScatter(p)
		}
		if len(p) >= len(b.small) {
			b.reads++
			return b.conn.Read(p)
		}
		if err := b.fill(1); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	b.copied += n
	return n, nil
}

// fill reads the connection once into room for need bytes from b.r.
func (b *connReader) fill(need int) error {
	if b.err != nil {
		return b.err
	}
	if b.r == b.w {
		b.r, b.w = 0, 0
		switch {
		case b.big != nil && !b.full:
			b.release() // the connection went quiet: wait in the small buffer
		case b.big == nil && b.full:
			b.borrow() // the small buffer was not enough: bytes are flowing
		}
	}
	if need > len(b.buf)-b.r {
		if need > len(b.buf) && !b.growSmall(need) {
			b.borrow()
		}
		if b.r > 0 {
			b.w = copy(b.buf, b.buf[b.r:b.w])
			b.r = 0
		}
	}
	room := len(b.buf)
	if b.afterLarge {
		// Large frames are flowing: what comes next is most likely another
		// one, whose payload this read would take into buf only for Read to
		// copy it out. Read its header and a little more; the payload then
		// goes straight to its destination (readScatter). So until the
		// header is in: a read that brought part of it is no sign that
		// small frames follow.
		room = min(room, b.r+max(need, scatterTail))
	}
	b.reads++
	n, err := b.conn.Read(b.buf[b.w:room])
	b.full = b.w+n == room
	b.w += n
	if b.w-b.r >= need {
		b.afterLarge = false
	}
	if err != nil {
		b.err = err
		if n == 0 {
			return err
		}
	}
	return nil
}

// growSmall replaces the small buffer, in use, by one that holds need
// bytes, when need is within maxSmallReadSize; it reports whether it did.
func (b *connReader) growSmall(need int) bool {
	if b.big != nil || need > maxSmallReadSize {
		return false
	}
	size := len(b.small)
	for size < need {
		size *= 2
	}
	grown := make([]byte, size)
	b.w = copy(grown, b.buf[b.r:b.w])
	b.r = 0
	b.buf, b.small = grown, grown
	return true
}

// borrow moves the unread bytes into a large buffer from the pool.
func (b *connReader) borrow() {
	if b.big != nil {
		return
	}
	b.big = readBufs.Get().(*[]byte)
	big := *b.big
	b.w = copy(big, b.buf[b.r:b.w])
	b.r = 0
	b.buf = big
}

// release gives the large buffer back; the caller has consumed its bytes.
func (b *connReader) release() {
	if b.big == nil {
		return
	}
	readBufs.Put(b.big)
	b.big = nil
	b.buf = b.small
	b.r, b.w = 0, 0
}

// canScatter reports whether the connection reads with readScatter, making
// its scatterReader the first time.
func (b *connReader) canScatter() bool {
	if b.scatter == nil && !b.noScatter {
		b.scatter = newScatterReader(b.conn)
		b.noScatter = b.scatter == nil
	}
	return b.scatter != nil
}
