//go:build linux

package rpc

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// threadReads is how many read syscalls the calling thread has made
// (/proc/thread-self/io's syscr, which counts the ones that failed too).
func threadReads(t *testing.T) int {
	b, err := os.ReadFile("/proc/thread-self/io")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no syscr in /proc/thread-self/io")
	return 0
}

// A WithHTTP1 call on a plain socket reads its response with one read
// syscall: the wait for it begins with the request's write, so no read
// fails with EAGAIN first (two reads a call before). The calls run on a
// thread of their own, whose reads are theirs alone.
func TestHTTP1ClientReadsTheResponseOnce(t *testing.T) {
	checkNoLeaks(t)
	cc, _ := http1Pair(t, ProtocolConnect)
	ctx := ctxTimeout(t, 10*time.Second)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range 3 {
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "warm")
		require.NoError(t, err)
	}
	const calls = 20
	before := threadReads(t)
	for range calls {
		got, err := echoOn(ctx, cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
		require.Equal(t, "x", got)
	}
	reads := threadReads(t) - before
	t.Logf("%d read syscalls for %d calls", reads, calls)
	require.LessOrEqual(t, reads, calls+calls/4)
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
