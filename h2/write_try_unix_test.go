//go:build unix

package h2

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTryWriterTakesWhatFits: try writes what the socket takes, returns
// without waiting for the rest, and what it reports written is exactly what
// the peer reads, in order.
func TestTryWriterTakesWhatFits(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	peer := <-accepted
	require.NotNil(t, peer)
	defer peer.Close()
	require.NoError(t, peer.(*net.TCPConn).SetReadBuffer(64<<10))
	require.NoError(t, c.(*net.TCPConn).SetWriteBuffer(64<<10))

	tw := newTryWriter(c)
	require.NotNil(t, tw)
	msg := make([]byte, 8<<20) // far more than both buffers hold
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	start := time.Now()
	n := tw.try(msg)
	require.Positive(t, n)
	require.Less(t, n, len(msg), "the socket took 8 MiB at once")
	// The buffers are full now: a second try takes nothing (or what the
	// peer's kernel acknowledged meanwhile), still without waiting.
	n += tw.try(msg[n:])
	require.Less(t, n, len(msg))
	require.Less(t, time.Since(start), waitLong)
	require.NoError(t, c.Close())

	got, err := io.ReadAll(peer)
	require.NoError(t, err)
	require.True(t, bytes.Equal(msg[:n], got), "read %d bytes, %d reported written", len(got), n)
}

// TestTryWriterOnlyForSockets: connections that cannot be written without
// blocking (TLS, pipes) get no tryWriter, so their callers never write
// inline.
func TestTryWriterOnlyForSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	require.Nil(t, newTryWriter(a))
}
