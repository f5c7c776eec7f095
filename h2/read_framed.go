package h2

import "math"

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
// When the body ends right after the unit, the unit comes with io.EOF (n > 0),
// which spares the caller a second read (and lock round trip) for the end.
// It returns early with n < need when p is full (the unit is larger than p:
// grow the buffer and call again with the rest), at the end of the body
// (io.EOF, with n > 0 if the unit was cut short) or when the stream fails.
// need runs under the session's lock, on the caller's or the reader's
// goroutine: it must be quick and must not use the stream or session. It
// sees the bytes so far with their capacity cut to len(p), so it can tell a
// unit that will not fit and ask for no more than its prefix, leaving the
// rest buffered until the caller has a large enough buffer.
// A nil need means: fill p.
func (st *Stream) ReadFramed(p []byte, need func(got []byte) int) (int, error) {
	if need == nil {
		need = fillAll
	}
	return st.read(p, need, false)
}

// ReadFramedInPlace is ReadFramed that also lets the session's reader
// goroutine read a large DATA frame (one that does not fit the 64 KiB read
// buffer) from the connection straight into p, without holding the session
// lock: the payload then crosses memory once, from the kernel into p. A peer
// sends such frames only when it may (SETTINGS_MAX_FRAME_SIZE above 64 KiB).
//
// The price is one rule for the caller: after an error other than io.EOF
// (a reset, the session failing, a passed deadline), p may still be written
// by the reader until the frame it is reading has arrived, so p must not be
// reused; let it go. Bytes that frame brings to a stream still open are not
// lost: they are kept for the next read, as with ReadFramed. On success and
// on io.EOF, p is the caller's again, as after any read.
func (st *Stream) ReadFramedInPlace(p []byte, need func(got []byte) int) (int, error) {
	if need == nil {
		need = fillAll
	}
	return st.read(p, need, true)
}

func fillAll([]byte) int { return math.MaxInt }

// unitDone reports whether p[:got] holds a whole unit, or p is full. need
// sees got with its capacity cut to len(p), so that it can tell a unit that
// will not fit.
func unitDone(p []byte, got int, need func([]byte) int) bool {
	return got == len(p) || got >= need(p[:got:len(p)])
}

// copyFramed copies from src into p[got:], stopping where the unit ends; a
// nil need copies as much as fits. need can only know the length once the
// prefix is in, so it copies in steps: up to what need asks for, then asks
// again.
func copyFramed(p []byte, got int, src []byte, need func([]byte) int) int {
	if need == nil {
		return copy(p[got:], src)
	}
	total := 0
	for len(src) > 0 && !unitDone(p, got, need) {
		// src may be the very bytes of p a frame was read into in place
		// (read_inplace.go): copy moves nothing when they are the same memory.
		n := copy(p[got:min(need(p[:got:len(p)]), len(p))], src)
		got += n
		total += n
		src = src[n:]
	}
	return total
}

// fillLentLocked copies DATA into a waiting Read's buffer and returns how
// much it took.
func (st *Stream) fillLentLocked(data []byte) int {
	n := copyFramed(st.rdBuf, st.rdN, data, st.rdNeed)
	st.rdN += n
	return n
}

// framedDoneLocked reports whether a waiting ReadFramed has its unit.
func (st *Stream) framedDoneLocked() bool { return unitDone(st.rdBuf, st.rdN, st.rdNeed) }
