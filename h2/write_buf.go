package h2

import "sync"

// The writer's output buffer grows to a write's worth of frames (up to
// flushThreshold and a frame), but it is needed only while the writer has
// something to send: the writer borrows one from writeBufs when work comes
// and gives it back before it waits, so an idle connection holds none.

// writeBufInitial is the capacity of a new buffer: a batch of small calls.
const writeBufInitial = 16 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufInitial); return &b }}

// borrowWriteBuf gives the writer an empty buffer from the pool.
func (s *Session) borrowWriteBuf() {
	s.wbufBox = writeBufs.Get().(*[]byte)
	s.wbuf = (*s.wbufBox)[:0]
}

// releaseWriteBuf returns the writer's buffer, empty, to the pool (the box
// keeps the buffer as append last grew it). A buffer that did not come from
// the pool (the client preface's) is simply dropped.
func (s *Session) releaseWriteBuf() {
	if s.wbufBox != nil {
		*s.wbufBox = s.wbuf[:0]
		writeBufs.Put(s.wbufBox)
		s.wbufBox = nil
	}
	s.wbuf = nil
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
