//go:build linux && (amd64 || arm64)

package h2

import (
	"encoding/binary"
	"net"
	"syscall"
	"unsafe"
)

// tcpInfoBytesAcked is where struct tcp_info keeps tcpi_bytes_acked (Linux
// 4.1 and later): 8 bytes of flags, 24 four-byte fields, two 8-byte rates.
const tcpInfoBytesAcked = 120

// tcpSendProgress asks the kernel how many bytes wait in conn's send queue
// (sent and not acknowledged, or not yet sent: SIOCOUTQ) and how many its
// peer acknowledged in all (TCP_INFO). ok is false for connections that are
// not TCP sockets (or TLS over one) or a kernel too old to count.
func tcpSendProgress(conn net.Conn) (queued, acked int64, ok bool) {
	sc, isSys := underlyingConn(conn).(syscall.Conn)
	if !isSys {
		return 0, 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	cerr := rc.Control(func(fd uintptr) {
		var q int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q))); e != 0 {
			return
		}
		var info [256]byte
		n := uint32(len(info))
		if _, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&n)), 0); e != 0 || n < tcpInfoBytesAcked+8 {
			return
		}
		queued, acked, ok = int64(q), int64(binary.NativeEndian.Uint64(info[tcpInfoBytesAcked:])), true
	})
	if cerr != nil {
		return 0, 0, false
	}
	return queued, acked, ok
}
