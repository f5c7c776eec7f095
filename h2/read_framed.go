package h2

import (
	"io"
	"os"
)

// ReadFramed reads one length-delimited unit of the body (a gRPC message,
// say) into p and returns its length. need tells, from the bytes received so
// far, how long the unit is in all: for gRPC, 5 until the 5-byte prefix is
// in, then 5 plus the length it announces.
//
// It differs from io.ReadFull(st, p[:size]) in two ways that matter for
// large units: the caller does not have to know the size up front (no
// separate read of the prefix, after which the rest of the frame would
// be buffered and copied twice), and the caller sleeps until the unit is
// complete instead of waking once per batch of frames. The reader goroutine
// copies DATA straight into p, and never past the unit's end: what follows
// stays buffered for the next read.
//
// It returns early with n < need when p is full (the unit is larger than p:
// grow the buffer and call again with the rest), at the end of the body
// (io.EOF, with n > 0 if the unit was cut short) or when the stream fails.
// need runs under the session's lock, on the caller's or the reader's
// goroutine: it must be quick and must not use the stream or session.
// A nil need means: fill p.
func (st *Stream) ReadFramed(p []byte, need func(got []byte) int) (int, error) {
	if need == nil {
		need = fillAll
	}
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	got := 0
	for {
		if st.inOff < len(st.in) {
			n := copyFramed(p, got, st.in[st.inOff:], need)
			st.inOff += n
			if st.inOff == len(st.in) {
				st.in, st.inOff = st.in[:0], 0
			}
			st.creditLocked(int64(n))
			got += n
		}
		if got == len(p) || got >= need(p[:got]) {
			return got, nil
		}
		if st.inOff < len(st.in) {
			continue
		}
		switch {
		case st.inEOF:
			return got, io.EOF
		case st.err != nil:
			return got, st.err
		case st.deadlinePassedLocked():
			return got, os.ErrDeadlineExceeded
		}
		if st.rdBuf != nil {
			// Another Read lent its buffer; this one waits its turn.
			st.cond.Wait()
			continue
		}
		st.rdBuf, st.rdN, st.rdNeed = p, got, need
		st.cond.Wait()
		got = st.rdN
		st.rdBuf, st.rdN, st.rdNeed = nil, 0, nil
	}
}

func fillAll([]byte) int { return int(^uint(0) >> 1) }

// copyFramed copies from src into p[got:], stopping where the unit ends.
// need can only know the length once the prefix is in, so it copies in
// steps: up to what need asks for, then asks again.
func copyFramed(p []byte, got int, src []byte, need func([]byte) int) int {
	total := 0
	for len(src) > 0 && got < len(p) {
		want := min(need(p[:got]), len(p))
		if want <= got {
			break
		}
		n := copy(p[got:want], src)
		got += n
		total += n
		src = src[n:]
	}
	return total
}

// fillLentLocked copies DATA into a waiting Read's buffer and returns how
// much it took.
func (st *Stream) fillLentLocked(data []byte) int {
	var n int
	if st.rdNeed != nil {
		n = copyFramed(st.rdBuf, st.rdN, data, st.rdNeed)
	} else {
		n = copy(st.rdBuf[st.rdN:], data)
	}
	st.rdN += n
	return n
}

// framedDoneLocked reports whether a waiting ReadFramed has its unit.
func (st *Stream) framedDoneLocked() bool {
	return st.rdN == len(st.rdBuf) || st.rdN >= st.rdNeed(st.rdBuf[:st.rdN])
}
