package h2

import "sync"

// The writer's output buffer grows to a write's worth of frames (up to
// flushThreshold and a frame), but it is needed only while the writer has
// something to send: the writer borrows one from writeBufs when work comes
// and gives it back before it waits, so an idle connection holds none.
//
// Grown buffers are also kept in a small free list, which the GC does not
// empty. A sync.Pool alone loses them within two collections, and small
// streamed messages make the GC run often (68 times a second under eight
// server streams of 1 KiB messages, each message allocated anew by the
// service and by protobuf's unmarshal): the writer then grew a fresh 16 KiB
// buffer by doubling to the 256 KiB a write of eight streams' messages
// gathers, 5.4 % of the bytes the process allocated, each new array zeroed
// and faulted in page by page.

// writeBufInitial is the capacity of a new buffer: a batch of small calls.
const writeBufInitial = 16 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufInitial); return &b }}

// writeBufKeep is how many grown buffers the free list keeps: one per
// session writing at once in a busy process's common case (a client and a
// server, or a few connections), at most 2 MiB in all (writeBufKeepMax).
const writeBufKeep = 4

// writeBufKeepMax is the largest buffer the free list keeps: a write's
// worth and a large frame; a buffer grown past it by a huge header block
// goes to the pool.
const writeBufKeepMax = 2 * flushThreshold

var writeBufList = make(chan *[]byte, writeBufKeep)

// borrowWriteBuf gives the writer an empty buffer: a grown one from the
// free list if there is one, else one from the pool.
func (s *Session) borrowWriteBuf() {
	select {
	case s.wbufBox = <-writeBufList:
	default:
		s.wbufBox = writeBufs.Get().(*[]byte)
	}
	s.wbuf = (*s.wbufBox)[:0]
}

// releaseWriteBuf returns the writer's buffer, empty, to the free list if
// it grew and there is room, else to the pool (the box keeps the buffer as
// append last grew it). A buffer that did not come from either (the client
// preface's) is simply dropped.
func (s *Session) releaseWriteBuf() {
	if s.wbufBox != nil {
		*s.wbufBox = s.wbuf[:0]
		putWriteBuf(s.wbufBox)
		s.wbufBox = nil
	}
	s.wbuf = nil
}

func putWriteBuf(b *[]byte) {
	if c := cap(*b); c > writeBufInitial && c <= writeBufKeepMax {
		select {
		case writeBufList <- b:
			return
		default:
		}
	}
	writeBufs.Put(b)
}

// The control-frame queue (Session.ctrl) and the batch the writer encodes
// from (Session.batch) trade places on every batch, so each holds an array
// of frame requests; an idle connection gives both back, as it gives back
// its output buffer (half a KiB per connection, a tenth of what an idle one
// held). A queue that outgrows frameBatchLen moves to an array of
// frameBatchBigLen from a pool of its own: a read batch of new streams
// queues one HEADERS per stream before the writer runs (32 under h2load -m
// 32), and growing the array by append then cost 2 allocations and 7 KiB
// per writer wake-up, a fifth of the bytes a small request allocated. Arrays
// that grew past frameBatchBigLen are left to the GC.
const (
	frameBatchLen    = 8
	frameBatchBigLen = 64
)

type (
	frameBatch    [frameBatchLen]frameReq
	bigFrameBatch [frameBatchBigLen]frameReq
)

var (
	frameBatches    = sync.Pool{New: func() any { return new(frameBatch) }}
	bigFrameBatches = sync.Pool{New: func() any { return new(bigFrameBatch) }}
)

// appendFrameReq appends r to q, moving a full small array's requests to a
// big one first.
func appendFrameReq(q []frameReq, r frameReq) []frameReq {
	if len(q) == frameBatchLen && cap(q) == frameBatchLen {
		big := bigFrameBatches.Get().(*bigFrameBatch)[:frameBatchLen]
		copy(big, q)
		clear(q) // the pool's arrays refer to nothing
		frameBatches.Put((*frameBatch)(q))
		q = big
	}
	return append(q, r)
}

// releaseFrameBatches returns the writer's empty queue arrays to the pool;
// the writer calls it under mu before it waits, with nothing queued.
func (s *Session) releaseFrameBatches() {
	putFrameBatch(s.ctrl)
	putFrameBatch(s.batch)
	s.ctrl, s.batch = nil, nil
}

func putFrameBatch(q []frameReq) {
	// The requests were cleared as they were encoded: the array refers to
	// nothing.
	switch cap(q) {
	case frameBatchLen:
		frameBatches.Put((*frameBatch)(q[:frameBatchLen]))
	case frameBatchBigLen:
		bigFrameBatches.Put((*bigFrameBatch)(q[:frameBatchBigLen]))
	}
}
