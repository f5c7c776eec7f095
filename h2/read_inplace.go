package h2

import "sync"

// A DATA frame larger than the read buffer is read from the connection
// straight into its destination. When a ReadFramedInPlace waits for the
// stream and the whole payload belongs to its unit, that destination is the
// caller's own buffer: the bytes cross memory once, from the kernel into the
// message, where through the read buffer they would cross it twice. The
// reader does not hold the session lock while it waits on the connection,
// which is why ReadFramedInPlace's caller gives up its buffer after an error.

// inPlaceTarget returns where the n-byte payload of an unpadded DATA frame on
// stream id can be read in place: the stretch of a waiting ReadFramedInPlace's
// buffer it will fill, or nil. The payload's first bytes may already be in
// the read buffer; when need has to see them (a unit's length prefix starts
// the payload) they are put in place first, as the normal path would put them.
func (s *Session) inPlaceTarget(id uint32, n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	if st == nil || !st.rdInPlace || st.inOff != len(st.in) || st.err != nil || st.recv.ended() || st.discardIn {
		return nil
	}
	p, start := st.rdBuf, st.rdN
	head, _ := s.br.Peek(min(n, s.br.Buffered()))
	got := start
	for len(head) > 0 && !unitDone(p, got, st.rdNeed) {
		end := min(st.rdNeed(p[:got:len(p)]), len(p))
		if end >= start+n {
			break // the unit runs past this frame: its length is known
		}
		c := copy(p[got:end], head)
		got += c
		head = head[c:]
	}
	if min(st.rdNeed(p[:got:len(p)]), len(p))-start < n {
		return nil // the unit (or p) ends inside this frame
	}
	s.inPlaceFrames++
	return p[start : start+n]
}

// largeFrameBufs holds the buffers of large frames read the normal way, so
// that a connection whose peer sends them does not keep one of its own.
var largeFrameBufs sync.Pool

func getLargeFrameBuf(n int) *[]byte {
	if bp, _ := largeFrameBufs.Get().(*[]byte); bp != nil && cap(*bp) >= n {
		return bp
	}
	b := make([]byte, n)
	return &b
}
