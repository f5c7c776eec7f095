package h2

import "io"

// Taking a buffered unit. DATA that arrives before its reader waits is
// kept in the stream's pooled buffer (Stream.in); ReadFramed then copies it
// out into the caller's buffer, so a message that came early crossed memory
// twice in user space. TakeFramed and Take hand that pooled buffer itself
// to the caller instead, when it holds a whole unit: the caller reads the
// unit where the connection's reader put it and gives the buffer back with
// Buffer.Release.

// Buffer is stream memory handed over to a reader by TakeFramed or Take.
// The reader owns it until it calls Release; after that it must not touch
// the bytes. A Buffer that is never released is left to the garbage
// collector, which is safe but forgoes the reuse.
type Buffer struct {
	buf      []byte // the pooled buffer, from its first byte
	off, end int    // where the unit lies in buf
}

// Bytes returns the unit. Appending to it allocates anew.
func (b Buffer) Bytes() []byte { return b.buf[b.off:b.end:b.end] }

// Release gives the memory back to the stream buffer pool and empties b.
func (b *Buffer) Release() {
	putStreamBuf(b.buf)
	*b = Buffer{}
}

// TakeFramed hands over the next length-delimited unit if the stream has
// all of it buffered, without waiting and without copying it. need tells the
// unit's total length as ReadFramed's does, but sees every buffered unread
// byte (capacity cut to their length), so it must not use the capacity to
// decide anything. Otherwise, and when a Read waits on another goroutine,
// it takes nothing and returns an empty Buffer and a nil error: read the
// unit with ReadFramed, which also reports the stream's end and failures.
//
// When the body ends right after the unit, the unit comes with io.EOF, as
// from ReadFramed.
func (st *Stream) TakeFramed(need func(got []byte) int) (Buffer, error) {
	return st.take(0, need)
}

// Take is TakeFramed for a unit whose length n the caller knows already
// (its prefix was read with ReadFramed): it hands over the next n bytes if
// all of them are buffered.
func (st *Stream) Take(n int) (Buffer, error) {
	if n <= 0 {
		return Buffer{}, nil
	}
	return st.take(n, nil)
}

// takeKeepMax bounds what a handed-over buffer may carry past its unit,
// relative to the unit: those bytes move to a buffer of their own. When more
// follows than that, the unit is cheaper to copy out by reading it.
const takeKeepMax = 1

func (st *Stream) take(n int, need func([]byte) int) (Buffer, error) {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.rdBuf != nil || st.err != nil || st.discardIn {
		return Buffer{}, nil
	}
	unread := st.in[st.inOff:]
	if need != nil {
		n = need(unread[:len(unread):len(unread)])
	}
	rest := len(unread) - n
	if len(unread) == 0 || n <= 0 || rest < 0 || rest > takeKeepMax*n {
		return Buffer{}, nil
	}
	b := Buffer{buf: st.in[:cap(st.in)], off: st.inOff, end: st.inOff + n}
	if rest > 0 {
		st.in, st.inOff = append(getStreamBuf(rest), unread[n:]...), 0
	} else {
		st.nextInLocked(false)
	}
	st.creditLocked(int64(n))
	if st.recv.ended() && st.inOff == len(st.in) {
		return b, io.EOF // the body ends with this unit: no read just for the end
	}
	return b, nil
}
