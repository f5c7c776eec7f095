//go:build linux

package h2

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// socketScatter reads a socket with readv, through the runtime's poller.
type socketScatter struct {
	conn  net.Conn
	rc    syscall.RawConn
	iov   [2]syscall.Iovec
	iovs  int // how many of iov this read uses
	n     int
	errno syscall.Errno
	// readv is s.readv bound once: a method value made per read would
	// allocate a closure per read.
	readv func(fd uintptr) bool
}

// newScatterReader returns a scatterReader for plain TCP and Unix sockets;
// nil for anything else (TLS, pipes), which keeps plain reads.
func newScatterReader(conn io.Reader) scatterReader {
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
	s := &socketScatter{conn: conn.(net.Conn), rc: rc}
	s.readv = s.readOnce
	return s
}

func (s *socketScatter) ReadScatter(a, b []byte) (int, error) {
	s.iov[0].Base = unsafe.SliceData(a)
	s.iov[0].SetLen(len(a))
	s.iovs = 1
	if len(b) > 0 {
		s.iov[1].Base = unsafe.SliceData(b)
		s.iov[1].SetLen(len(b))
		s.iovs = 2
	}
	err := s.rc.Read(s.readv)
	n, errno := s.n, s.errno
	// Drop the buffers: the reader must not keep them from the pools.
	s.iov = [2]syscall.Iovec{}
	s.n, s.errno = 0, 0
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: s.conn.LocalAddr().Network(), Source: s.conn.LocalAddr(),
			Addr: s.conn.RemoteAddr(), Err: os.NewSyscallError("readv", errno)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readOnce is the poller's callback: it reports false to wait until the
// socket is readable.
func (s *socketScatter) readOnce(fd uintptr) bool {
	for {
		n, _, e := syscall.Syscall(syscall.SYS_READV, fd, uintptr(unsafe.Pointer(&s.iov[0])), uintptr(s.iovs))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.n, s.errno = int(n), e
		return true
	}
}
