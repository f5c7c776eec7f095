//go:build unix

package rpc

import (
	"net"
	"os"
	"syscall"
)

// An HTTP/1.1 exchange is a write, then a read of the answer. Written as
// net.Conn's Write then Read, the read runs before the peer could answer,
// fails with EAGAIN, and only then waits in the runtime's poller: a read
// syscall per exchange for nothing, on each side (the client waiting for its
// response, the server for the connection's next request), about a sixth of
// an exchange's syscalls. socketAwaiter writes and then waits in one pass
// through the poller (syscall.RawConn.Read), so that the read which follows
// finds the answer there.

// socketAwaiter is a connection's writer-then-waiter, made once per
// connection: the step function is bound here, so that an exchange costs no
// allocation.
type socketAwaiter struct {
	rc   syscall.RawConn
	step func(fd uintptr) bool // a.write, bound once
	// beforeWait, when set, runs once the whole of out is written, before
	// the wait; false: no wait (the server marks its connection idle
	// there, and learns whether it is closing). It runs while the wait holds
	// the descriptor, which Close waits for: it must not block on what a
	// closer may hold.
	beforeWait func() bool
	out        []byte
	n          int   // bytes of out written
	err        error // the write's
	wrote      bool
}

// newSocketAwaiter returns nc's awaiter, or nil when nc is no socket whose
// descriptor the runtime polls (TLS, a pipe, a wrapper): then the caller
// writes and reads as usual.
func newSocketAwaiter(nc net.Conn) *socketAwaiter {
	rc := socketRawConn(nc)
	if rc == nil {
		return nil
	}
	a := &socketAwaiter{rc: rc}
	a.step = a.write
	return a
}

// writeThenAwait writes out and returns once the socket has something to
// read (or the peer closed it). The wait starts before the write: the
// runtime forgets readiness it saw before a wait begins, so an answer that
// arrived between a write and a wait begun after it would never wake it.
// A write that would block returns early with n < len(out) and no error: the
// caller writes the rest as usual (and beforeWait has not run). err is the write's, or the wait's when
// the connection was closed or its read deadline passed.
func (a *socketAwaiter) writeThenAwait(out []byte) (n int, err error) {
	a.out, a.n, a.err, a.wrote = out, 0, nil, false
	rerr := a.rc.Read(a.step)
	n, err = a.n, a.err
	a.out, a.err = nil, nil
	if err != nil {
		return n, os.NewSyscallError("write", err)
	}
	return n, rerr
}

// write is the RawConn.Read callback: the first call writes and asks to
// wait (false), the next one, once the socket is readable, ends the wait.
func (a *socketAwaiter) write(fd uintptr) bool {
	if a.wrote {
		return true
	}
	a.wrote = true
	m, err := writeSocket(fd, a.out[a.n:])
	a.n += m
	switch {
	case err == syscall.EAGAIN:
		return true // the socket's buffer is full: the caller writes the rest
	case err != nil:
		a.err = err
		return true
	}
	return a.beforeWait != nil && !a.beforeWait()
}

// writeSocket writes p to the non-blocking socket fd until all of it went,
// the socket's buffer is full (syscall.EAGAIN) or the write fails; n is what
// went either way. Interrupted writes are retried.
func writeSocket(fd uintptr, p []byte) (n int, err error) {
	for n < len(p) {
		m, err := syscall.Write(int(fd), p[n:])
		if m > 0 {
			n += m
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return n, err
		case m <= 0:
			return n, syscall.EIO
		}
	}
	return n, nil
}

// socketRawConn returns the descriptor access of nc when it is a socket the
// runtime polls, or nil (TLS, a pipe, a wrapper).
func socketRawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
