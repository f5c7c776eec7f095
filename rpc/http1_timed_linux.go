//go:build linux

package rpc

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// timedWriter writes a connection's timed pieces (writePiece) to a socket
// itself, so that it sees the moment a write finds the send buffer full:
// only then does the client's pace matter, and only then is the socket
// asked how many written bytes the client has not acknowledged (SIOCOUTQ;
// the count shrinks as the client reads). A piece the socket takes at once
// costs no more than net.Conn's Write; a blocked one costs one count when
// it blocks and one at each deadline it meets (writeStall judges there).
type timedWriter struct {
	nc    net.Conn
	rc    syscall.RawConn
	step  func(fd uintptr) bool // w.write, bound once
	count func(fd uintptr)      // w.countUnacked, bound once

	p       []byte
	n       int   // bytes of p written
	err     error // the write syscall's
	blocked bool  // the buffer was full once: base, baseN and stall hold
	base    int   // bytes not acknowledged then
	baseN   int   // n then
	unacked int   // the last count
	counted bool  // whether it could be had
	asked   int   // how often the socket was asked: never for a write it took at once
	stall   writeStall
}

// newTimedWriter returns nc's timed writer, or nil when nc is no socket
// (TLS, whose connection a timed-out write leaves broken anyway, a pipe, a
// wrapper): there the write timeout ends a write.
func newTimedWriter(nc net.Conn) *timedWriter {
	rc := socketRawConn(nc)
	if rc == nil {
		return nil
	}
	w := &timedWriter{nc: nc, rc: rc}
	w.step = w.write
	w.count = w.countUnacked
	return w
}

// writePiece writes p, ending with the deadline's error when the client
// stalls or trickles (writeStall.check).
func (w *timedWriter) writePiece(p []byte, wt time.Duration, minRate int64) error {
	w.p, w.n, w.err, w.blocked = p, 0, nil, false
	defer func() { w.p, w.err = nil, nil }()
	deadline := time.Now().Add(wt)
	for {
		_ = w.nc.SetWriteDeadline(deadline)
		err := w.rc.Write(w.step)
		if w.err != nil {
			return os.NewSyscallError("write", w.err)
		}
		if err == nil || !w.blocked || !w.counted || !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if w.counted = false; w.rc.Control(w.count) != nil || !w.counted {
			return err
		}
		// Written since the buffer filled, less what joined the count.
		taken := w.base + (w.n - w.baseN) - w.unacked
		if deadline, err = w.stall.check(time.Now(), int64(taken), wt, minRate, err); err != nil {
			return err
		}
	}
}

// write is the RawConn.Write callback: it writes the rest of p, and asks to
// wait for room (false) when the socket's buffer is full.
func (w *timedWriter) write(fd uintptr) bool {
	m, err := writeSocket(fd, w.p[w.n:])
	w.n += m
	switch {
	case err == syscall.EAGAIN:
		if !w.blocked {
			// From here the write waits for the client: count from here.
			w.blocked = true
			w.countUnacked(fd)
			w.base, w.baseN = w.unacked, w.n
			w.stall = writeStall{since: time.Now()}
		}
		return false
	case err != nil:
		w.err = err
	}
	return true
}

// countUnacked asks the socket for the bytes its peer has not acknowledged.
func (w *timedWriter) countUnacked(fd uintptr) {
	w.asked++
	var q int32
	// SIOCOUTQ has TIOCOUTQ's number.
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q)))
	w.unacked, w.counted = int(q), errno == 0
}
