package h2

import "net"

// Vectored writes. A large Write lends its slice to the writer (see
// writeZeroCopyLocked). On a plain TCP or Unix connection the writer does not
// copy that slice into wbuf: it appends only the DATA frame header and
// records where the lent bytes go, then hands the kernel one writev of
// wbuf's pieces and the lent slices in order. That saves one memory copy of
// every large body. The Write stays blocked until the write syscall has
// returned, since the kernel reads the caller's memory until then.
//
// Other connections (TLS, pipes) copy as before: they cannot gather, and a
// write per piece would cost more than the copy saves.

// vectoredMin is the smallest DATA payload sent from the lent slice itself;
// smaller ones are cheaper to copy than to give their own iovec.
const vectoredMin = 4 << 10

// extSeg is a lent slice that goes on the wire after wbuf[:at].
type extSeg struct {
	at int
	b  []byte
	st *Stream
}

// canGather reports whether conn writes net.Buffers with one writev.
func canGather(conn net.Conn) bool {
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// appendLentDataLocked frames data (a prefix of st.zc) without copying it.
func (s *Session) appendLentDataLocked(st *Stream, end bool, data []byte) {
	var f Flags
	if end {
		f = FlagEndStream
	}
	s.wbuf = appendFrameHeader(s.wbuf, len(data), FrameData, f, st.id)
	s.ext = append(s.ext, extSeg{at: len(s.wbuf), b: data[:len(data):len(data)], st: st})
	s.extLen += len(data)
	s.lentFrames++
	st.zcInFlight++
}

// lentFlushThreshold bounds the lent bytes one write gathers. They cost no
// buffer memory, so it is larger than flushThreshold: a large body goes out
// in a few big writev calls (1 MiB ping-pong ran about 10% faster than with
// 256 KiB writes).
const lentFlushThreshold = 1 << 20

// gathered is how many bytes the next write will send.
func (s *Session) gathered() int { return len(s.wbuf) + s.extLen }

// fullLocked reports whether the next write has gathered enough of either
// kind of bytes: copied into wbuf or lent.
func (s *Session) fullLocked() bool {
	return len(s.wbuf) >= flushThreshold || s.extLen >= lentFlushThreshold
}

// roomLocked is how many more bytes of a kind the next write may gather.
func (s *Session) roomLocked(lent bool) int {
	if lent {
		return lentFlushThreshold - s.extLen
	}
	return flushThreshold - len(s.wbuf)
}

// takeOutLocked hands the gathered bytes to the writer: wbuf alone, or the
// pieces of wbuf and the lent slices in wire order.
func (s *Session) takeOutLocked() (buf []byte, iov net.Buffers) {
	buf = s.wbuf
	s.wbuf = nil
	if len(s.ext) == 0 {
		return buf, nil
	}
	iov = s.iov[:0]
	prev := 0
	for _, e := range s.ext {
		if e.at > prev {
			iov = append(iov, buf[prev:e.at])
		}
		iov = append(iov, e.b)
		prev = e.at
	}
	if prev < len(buf) {
		iov = append(iov, buf[prev:])
	}
	return buf, iov
}

// releaseLentLocked runs after the write syscall: the kernel is done with the
// lent slices, so the Writes that lent them may return.
func (s *Session) releaseLentLocked(iov net.Buffers) {
	for i := range s.ext {
		st := s.ext[i].st
		st.zcInFlight--
		if st.zcInFlight == 0 {
			if st.owned != nil {
				st.releaseOwnedIfDoneLocked()
			} else if st.writeWaiters > 0 {
				st.signalLocked()
			}
		}
		s.ext[i] = extSeg{}
	}
	s.ext = s.ext[:0]
	s.extLen = 0
	clear(iov[:cap(iov)])
	s.iov = iov[:0]
}
