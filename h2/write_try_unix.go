//go:build unix

package h2

import (
	"net"
	"syscall"
)

// tryWriter writes to a socket without blocking: what the kernel takes now,
// and not a byte more. A caller writing its own frames (write_inline.go)
// must never wait for a peer that does not read; what the socket refuses
// goes to the writer goroutine, which may wait.
type tryWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // t.write, bound once: RawConn.Write would allocate a closure per call
	buf []byte
	n   int
	err error
}

// newTryWriter returns a tryWriter for a plain TCP or Unix socket, nil for
// other connections (TLS, pipes), which cannot write without blocking.
func newTryWriter(conn net.Conn) *tryWriter {
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	t := &tryWriter{rc: rc}
	t.fn = t.write
	return t
}

// try writes a prefix of b, as much as the socket's buffer takes, and
// reports how long it is: 0 when the buffer is full or the write failed.
func (t *tryWriter) try(b []byte) int {
	t.buf, t.n = b, 0
	if err := t.rc.Write(t.fn); err != nil {
		t.n = 0 // the connection is closed
	}
	t.buf = nil
	return t.n
}

// write runs with the socket's write lock held; returning true tells the
// poller not to wait for the socket to become writable.
func (t *tryWriter) write(fd uintptr) bool {
	for len(t.buf) > t.n {
		n, err := syscall.Write(int(fd), t.buf[t.n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return true // EAGAIN: the socket's buffer is full
		}
		t.n += n
	}
	return true
}
