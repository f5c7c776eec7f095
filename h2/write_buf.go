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
