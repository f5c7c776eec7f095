//go:build linux

package rpc

import (
	"net"
	"syscall"
	"unsafe"
)

// unackedBytes returns how many bytes written to nc's socket its peer has
// not acknowledged yet (SIOCOUTQ): the count shrinks as the peer reads.
// ok is false when nc is no socket (TLS, a pipe, a wrapper).
func unackedBytes(nc net.Conn) (n int, ok bool) {
	sc, isSocket := nc.(syscall.Conn)
	if !isSocket {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var q int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		// SIOCOUTQ has TIOCOUTQ's number.
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(q), true
}
