package h2

import (
	"unsafe"

	"github.com/h2rpc/h2rpc/internal/freelist"
)

// A stream's inbound and outbound byte buffers (Stream.in, Stream.out) come
// from size-classed pools and go back as soon as they are drained, not when
// the stream ends. Both are touched only under the session lock, and the
// writer copies outbound bytes into its own buffer before it lets go of the
// lock, so nothing refers to a buffer once it is returned.
//
// Owning them per stream cost the most of anything on streams carrying
// payloads: a buffer grew from nothing by doubling on every new stream (64
// KiB unary calls allocated about four bytes per byte of payload), and a
// receive buffer that a lagging reader never quite emptied was reallocated,
// consumed bytes included, each time it filled (41% of CPU for one stream of
// 10,000 1 KiB messages). Now the unread bytes move to the front when that
// makes room, and a buffer grows only into the next class.
//
// The pools hold pointers to each buffer's first byte, so returning one
// allocates nothing; the pointer keeps the whole array alive.
//
// Large classes (64 KiB and up) also keep a free list (internal/freelist).
// A sync.Pool is emptied by every other garbage collection, and a stream of
// large messages makes the GC run every few messages (each one allocates its
// payload anew in protobuf's unmarshal), so one in twenty 64 KiB messages of
// one server stream came with a fresh 128 KiB stream buffer: allocated,
// zeroed and faulted in page by page, 5 % of the bytes the process
// allocated.
//
// The lists share one budget rather than keeping a little per class: a
// reader that lags behind a stream of large messages holds up to a stream
// window of them (4 MiB by default, 64 frames of a 64 KiB message, each in a
// 128 KiB buffer), and one that caught up gives them all back at once. With
// 1 MiB per class, 8 buffers of 128 KiB were kept and the rest went to the
// sync.Pool, so after each collection the next backlog allocated them anew:
// one 64 KiB message in ten of a server stream of 100 (the reader lags by 15
// messages on average, and by the whole window at times), 5-8 % of the bytes
// the process allocated.
//
// The budget is 16 MiB, not the 8 MiB that backlog needs: eight 1 MiB
// messages that arrive before their readers (unary calls at c=8) are eight
// 1 MiB frames, each in a 2 MiB buffer, and with 8 MiB four of them were
// allocated anew after every other collection (3 % of the bytes of unary
// 1 MiB at c=8).
var streamBufs = freelist.New[*byte](freelist.Config{
	MinShift:  11, // 2 KiB: a 1 KiB message with its prefix, and room
	MaxShift:  22, // 4 MiB: the default stream window
	ListShift: 16, // 64 KiB
	// Eight 1 MiB frames, each in a 2 MiB buffer (or two stream windows'
	// frames of 64 KiB messages, each in a 128 KiB buffer).
	Budget: 16 << 20,
})

// getStreamBuf returns an empty buffer with room for at least n bytes.
func getStreamBuf(n int) []byte {
	c, ok := streamBufs.Class(n)
	if !ok {
		return make([]byte, 0, n)
	}
	size := streamBufs.Size(c)
	if p, ok := streamBufs.Get(c); ok {
		return unsafe.Slice(p, size)[:0]
	}
	return make([]byte, 0, size)
}

// putStreamBuf returns b to its pool. The caller must drop every reference
// to it. Buffers not made by getStreamBuf (other capacities) are left to
// the GC: the pools know a buffer by its first byte, so its class must say
// its capacity.
func putStreamBuf(b []byte) {
	size := cap(b)
	if size&(size-1) != 0 {
		return
	}
	if c, ok := streamBufs.ClassOf(size); ok {
		streamBufs.Put(c, unsafe.SliceData(b[:1]), size)
	}
}

// appendBuffered appends p to the unread bytes buf[off:], moving them to the
// front or into a larger pooled buffer when buf is full. It returns the new
// buffer and offset.
func appendBuffered(buf []byte, off int, p []byte) ([]byte, int) {
	if len(buf)+len(p) > cap(buf) {
		unread := len(buf) - off
		if need := unread + len(p); need <= cap(buf) && off > 0 {
			buf = buf[:copy(buf, buf[off:])]
		} else {
			// Grow at least twofold, so that a buffer filled by many small
			// appends is copied a bounded number of times, and leave room
			// past what is needed now: a message that fills a frame (16 or
			// 64 KiB) has a few bytes more in the next.
			nb := append(getStreamBuf(max(need+need/16, 2*cap(buf))), buf[off:]...)
			putStreamBuf(buf)
			buf = nb
		}
		off = 0
	}
	return append(buf, p...), off
}

// A reader that lags behind a stream of large frames would have each frame
// copied onto the end of Stream.in, and then copied out again by its read.
// Instead a large frame read into a buffer of its own (readFrames) that
// arrives while bytes are still unread joins a queue behind Stream.in
// (streamWatch.inQ, allocated only for streams that lag so), and becomes
// Stream.in when the bytes before it are read. A frame that carries one
// whole message then crosses memory once, from the kernel into its buffer,
// which TakeFramed hands over. Likewise, bytes that do not fit a large
// buffer go into a new one queued behind it, where growing it would copy
// everything it holds (a 1 MiB message that arrived in 64 KiB frames before
// its reader was copied twice over as the buffer doubled). Invariant: when
// Stream.in is drained the queue is empty, so inOff == len(in) still means
// that nothing is buffered.

// queuedInLocked returns the buffers queued behind st.in.
func (st *Stream) queuedInLocked() [][]byte {
	if st.watch == nil {
		return nil
	}
	return st.watch.inQ
}

// queueInLocked puts a frame's own buffer, all of it unread, behind st.in,
// which must hold unread bytes.
func (st *Stream) queueInLocked(b []byte) {
	w := st.watchPart()
	if w.inQ == nil {
		w.inQ = w.inQArr[:0]
	}
	w.inQ = append(w.inQ, b)
}

// segmentMin is the size from which a full buffer is not grown (copying
// all it holds) or compacted (copying what is unread) to make room for more:
// the bytes go into a new buffer queued behind it. Smaller buffers are
// cheaper to copy than to chain.
const segmentMin = 64 << 10

// appendInLocked buffers data after everything unread.
func (st *Stream) appendInLocked(data []byte) {
	q := st.queuedInLocked()
	last, off := st.in, st.inOff
	if len(q) > 0 {
		last, off = q[len(q)-1], 0
	}
	switch {
	case len(last)+len(data) > cap(last) && cap(last) >= segmentMin && off < len(last):
		// Fill it up, and the rest goes into the next.
		n := cap(last) - len(last)
		last = append(last, data[:n]...)
		if len(q) > 0 {
			q[len(q)-1] = last
		} else {
			st.in = last
		}
		// Each twice the last, as a growing buffer would be, so that a
		// long backlog takes few of them.
		st.queueInLocked(append(getStreamBuf(max(len(data)-n, 2*cap(last))), data[n:]...))
	case len(q) > 0:
		q[len(q)-1], _ = appendBuffered(last, 0, data)
	default:
		st.in, st.inOff = appendBuffered(last, off, data)
	}
}

// nextInLocked gives back st.in, which was read (or handed over) to its end
// (release: it is not the stream's any more), and moves the next queued
// buffer, if any, in its place.
func (st *Stream) nextInLocked(release bool) {
	if release {
		putStreamBuf(st.in)
	}
	st.in, st.inOff = nil, 0
	if q := st.queuedInLocked(); len(q) > 0 {
		st.in = q[0]
		n := copy(q, q[1:])
		q[n] = nil
		st.watch.inQ = q[:n]
	}
}

// dropInLocked gives back every unread buffer and returns how many bytes
// they held.
func (st *Stream) dropInLocked() int64 {
	unread := int64(len(st.in) - st.inOff)
	putStreamBuf(st.in)
	st.in, st.inOff = nil, 0
	for i, b := range st.queuedInLocked() {
		unread += int64(len(b))
		putStreamBuf(b)
		st.watch.inQ[i] = nil
	}
	if st.watch != nil {
		st.watch.inQ = st.watch.inQ[:0]
	}
	return unread
}
