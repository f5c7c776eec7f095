//go:build linux

package rpc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readSyscalls is how many read syscalls the calling thread (self
// "thread-self") or the whole process ("self") has made: /proc's io syscr,
// which counts the ones that failed too.
func readSyscalls(t *testing.T, self string) int {
	b, err := os.ReadFile("/proc/" + self + "/io")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no syscr in /proc/" + self + "/io")
	return 0
}

// A WithHTTP1 call to Serve on plain sockets reads its response with one
// read syscall, and the server the request with one: each side's wait for
// the answer begins with its write, so no read fails with EAGAIN first
// (two reads a call on each side before). The calls run on a thread of
// their own, whose reads are the client's; the process's others are the
// server's.
func TestHTTP1ExchangeReadsOnceEachSide(t *testing.T) {
	checkNoLeaks(t)
	cc, _ := http1Pair(t, ProtocolConnect)
	ctx := ctxTimeout(t, 10*time.Second)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range 3 {
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "warm")
		require.NoError(t, err)
	}
	const calls = 50 // and four reads of /proc, by the client's thread
	client, all := readSyscalls(t, "thread-self"), readSyscalls(t, "self")
	for range calls {
		got, err := echoOn(ctx, cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
		require.Equal(t, "x", got)
	}
	client = readSyscalls(t, "thread-self") - client
	server := readSyscalls(t, "self") - all - client
	t.Logf("%d calls: %d read syscalls by the client, %d by the server", calls, client, server)
	require.LessOrEqual(t, client, calls+calls/4)
	require.LessOrEqual(t, server, calls+calls/4)
}

// tcpPair is both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client, server
}

// writeThenAwait returns once the answer is readable, or the peer closed;
// a write larger than the socket's buffers returns early, the rest for the
// caller to write; a closed connection is an error; a connection that is
// no socket has no awaiter.
func TestSocketAwaiter(t *testing.T) {
	c, s := tcpPair(t)
	a := newSocketAwaiter(c)
	require.NotNil(t, a)

	go func() {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(s, buf); err == nil {
			time.Sleep(20 * time.Millisecond) // the client is waiting by now
			_, _ = s.Write(bytes.ToUpper(buf))
		}
	}()
	n, err := a.writeThenAwait([]byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond)) // readable now: no waiting
	got := make([]byte, 5)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "HELLO", string(got))
	_ = c.SetReadDeadline(time.Time{})

	big := make([]byte, 16<<20) // more than loopback's socket buffers hold
	n, err = a.writeThenAwait(big)
	require.NoError(t, err)
	require.Less(t, n, len(big), "a write that would block returns the rest to the caller")
	go func() { _, _ = io.CopyN(io.Discard, s, int64(len(big))) }()
	_, err = c.Write(big[n:])
	require.NoError(t, err)

	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = s.Close()
	}()
	n, err = a.writeThenAwait([]byte("bye"))
	require.Equal(t, 3, n)
	require.NoError(t, err, "the peer's close ends the wait: the read that follows says EOF")

	c2, s2 := tcpPair(t)
	a2 := newSocketAwaiter(c2)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = c2.Close()
	}()
	_, err = a2.writeThenAwait([]byte("x"))
	require.ErrorIs(t, err, net.ErrClosed, "closing the connection ends the wait with an error")
	_ = s2

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	require.Nil(t, newSocketAwaiter(p1))
}

// deadlineCounter is a listener whose connections count their
// SetReadDeadline calls; they stay sockets (syscall.Conn).
type deadlineCounter struct {
	net.Listener
	n atomic.Int32
}

func (l *deadlineCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return deadlineCountingConn{c.(*net.TCPConn), &l.n}, nil
}

type deadlineCountingConn struct {
	*net.TCPConn
	n *atomic.Int32
}

func (c deadlineCountingConn) SetReadDeadline(t time.Time) error {
	c.n.Add(1)
	return c.TCPConn.SetReadDeadline(t)
}

// A keep-alive request that arrives whole costs Serve's HTTP/1.1 one
// deadline, the idle one set while it waits for the request (each is a
// clock read and a timer update): none to read the head, as it is
// buffered, and none to clear, as its body is too. Four before.
func TestServeHTTP1DeadlinesPerRequest(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	l0, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &deadlineCounter{Listener: l0}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	cc, err := NewClient(l.Addr().String(), WithInsecure(), WithConnect(), WithHTTP1())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	ctx := ctxTimeout(t, 10*time.Second)
	for range 3 {
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "warm")
		require.NoError(t, err)
	}
	const calls = 20
	before := l.n.Load()
	for range calls {
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
	}
	got := l.n.Load() - before
	t.Logf("%d deadlines set for %d calls", got, calls)
	require.LessOrEqual(t, got, int32(calls))
}

// resetConn is a connection whose peer has reset it, and which has read
// the reset: a write to it fails with EPIPE (or ECONNRESET).
func resetConn(t *testing.T) net.Conn {
	c, s := tcpPair(t)
	require.NoError(t, s.(*net.TCPConn).SetLinger(0)) // close with RST
	require.NoError(t, s.Close())
	_, err := c.Read(make([]byte, 1))
	require.ErrorIs(t, err, syscall.ECONNRESET)
	return c
}

// requireBrokenWrite checks err is the failed write's, whichever of the
// two errors the kernel gave.
func requireBrokenWrite(t *testing.T, err error) {
	t.Helper()
	require.True(t, errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET), "got %v", err)
}

// returnsWithin runs f, and fails the test if it has not returned after a
// while: a write that fails must not be retried or waited on for ever.
func returnsWithin(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a failed write never returned")
	}
}

// A write that fails with an error other than EAGAIN (here EPIPE, on a
// connection its peer reset) ends writeSocket and the socket awaiter's write
// with that error, before the wait for an answer: the connection is broken,
// and no answer will come.
func TestSocketWriteFailureIsReturned(t *testing.T) {
	c := resetConn(t)
	var n int
	var err error
	returnsWithin(t, func() {
		cerr := socketRawConn(c).Control(func(fd uintptr) { n, err = writeSocket(fd, []byte("hello")) })
		require.NoError(t, cerr)
	})
	require.Zero(t, n)
	requireBrokenWrite(t, err)

	a := newSocketAwaiter(resetConn(t))
	waited := false
	a.beforeWait = func() bool { waited = true; return true }
	returnsWithin(t, func() { n, err = a.writeThenAwait([]byte("hello")) })
	require.Zero(t, n)
	requireBrokenWrite(t, err)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "write", se.Syscall)
	require.False(t, waited, "the awaiter went on to wait for an answer")
}
