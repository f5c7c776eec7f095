//go:build unix

package rpc

import (
	"crypto/tls"
	"net"
	"syscall"
)

// closedByPeer reports whether the peer closed nc, or sent bytes nobody
// asked for, by peeking at its socket without waiting. false when it cannot
// tell (a connection that is no socket).
func closedByPeer(nc net.Conn) bool {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	dead := false
	_ = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// n == 0 without an error is the peer's FIN; bytes or an error other
		// than "nothing yet" end the connection too.
		dead = n > 0 || err == nil || err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		return true
	})
	return dead
}
