//go:build linux

package rpc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// smallSendBuffers gives each accepted connection a small send buffer, so
// that a response's write waits for its client after a few hundred KiB
// instead of the several MiB the kernel grows the buffer to.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(64 << 10)
	}
	return c, err
}

// floodServer serves test.Flood with the given HTTP/1.1 timeouts and
// returns a raw connection that asked for the flood.
func floodServer(t *testing.T, p HTTP1Parameters) *raw {
	srv := NewServer(HTTP1Params(p))
	srv.RegisterService(&floodDesc, &echoImpl{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(smallSendBuffers{l}) }()
	t.Cleanup(srv.Stop)
	r := (&h1Env{addr: l.Addr().String()}).dial(t)
	_ = r.c.(*net.TCPConn).SetReadBuffer(32 << 10)
	_ = r.c.SetDeadline(time.Time{})
	r.send("POST /test.Flood/Flood HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+proto\r\n" +
		"Content-Length: 5\r\n\r\n\x00\x00\x00\x00\x00")
	return r
}

// A client that reads a little but never stops (2 KiB every 20 ms, some in
// every WriteTimeout, so the timeout alone would let it go on for ever) is
// cut off once its pace since the write began to wait for it is under
// MinWriteRate; one that reads steadily above the floor gets what it reads.
func TestServeHTTP1WriteRateFloor(t *testing.T) {
	p := HTTP1Parameters{WriteTimeout: time.Second, MinWriteRate: 512 << 10}

	t.Run("trickle", func(t *testing.T) {
		checkNoLeaks(t)
		r := floodServer(t, p)
		buf := make([]byte, 2<<10)
		for range 500 { // 1 MiB in 10 s or more: ten WriteTimeouts below the floor
			select {
			case err := <-floodEnded:
				require.Error(t, err)
				return
			case <-time.After(20 * time.Millisecond):
			}
			_ = r.c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.ReadFull(r.br, buf); err != nil {
				// Cut off: the connection ends, and so does the handler.
				select {
				case err := <-floodEnded:
					require.Error(t, err)
				case <-time.After(30 * time.Second):
					t.Fatal("the connection ended but the handler still writes")
				}
				return
			}
		}
		t.Fatal("a client reading 100 KiB/s at most kept its connection")
	})

	t.Run("steady", func(t *testing.T) {
		checkNoLeaks(t)
		r := floodServer(t, p)
		// 64 KiB every 10 ms: more than the floor even if each turn took
		// five times as long; 12 MiB, a few deadlines' worth.
		buf := make([]byte, 64<<10)
		_ = r.c.SetReadDeadline(time.Now().Add(60 * time.Second))
		for n := 0; n < 12<<20; n += len(buf) {
			time.Sleep(10 * time.Millisecond)
			_, err := io.ReadFull(r.br, buf)
			require.NoError(t, err, "cut off after %d bytes", n)
		}
		require.Empty(t, floodEnded, "the handler's write failed")
		_ = r.c.Close()
		select {
		case <-floodEnded:
		case <-time.After(30 * time.Second):
			t.Fatal("the handler still writes to a closed connection")
		}
	})
}

// A timed write that the socket takes at once costs what net.Conn's Write
// costs: no allocation and no question to the socket about what the client
// acknowledged (that is asked only once a write waits for the client).
func TestTimedWriteAsksNothingOfASocketWithRoom(t *testing.T) {
	checkNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	nc, err := l.Accept()
	require.NoError(t, err)
	defer nc.Close()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, client)
	}()

	c := &http1ServerConn{srv: NewServer(HTTP1Params(HTTP1Parameters{WriteTimeout: time.Minute})), nc: nc}
	piece := make([]byte, 4<<10)
	require.NoError(t, c.writeTimed(piece)) // makes the timed writer
	require.NotNil(t, c.tw)
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.writeTimed(piece); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
	require.Zero(t, c.tw.asked, "the socket was asked about a write it took at once")
	_ = nc.Close()
	<-drained
}

// tinySendBuffers gives each accepted connection the smallest send buffer,
// so that little of a response fits in the kernel's buffers.
type tinySendBuffers struct{ net.Listener }

func (l tinySendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// A response under 256 KiB goes out in one writev under WriteTimeout. When
// that write outlasts the timeout on a plain socket, it goes on under the
// rule a larger response's pieces follow: a client that reads slowly but
// steadily, above MinWriteRate, gets the whole of it rather than being cut
// off where a response a little larger would not be.
func TestServeHTTP1SmallResponseGoesOnForASteadySlowReader(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer(HTTP1Params(HTTP1Parameters{WriteTimeout: 300 * time.Millisecond, MinWriteRate: 4 << 10}))
	srv.RegisterService(&echoDesc, &echoImpl{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(tinySendBuffers{l}) }()
	t.Cleanup(srv.Stop)
	// The receive buffer is set before connecting, so that the window the
	// client offers is small from the start: one shrunk later leaves the
	// sender waiting for half the window it once saw, in bursts far apart.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		})
	}}
	c, err := d.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))

	const size = 200 << 10 // one writev: under timedWriteMax with its head
	_, err = io.WriteString(c, connectJSON(fmt.Sprintf(`"big:%d"`, size)))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4<<10), nil)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	// 4 KiB every 50 ms, some 80 KiB/s: twenty times the floor, and bytes
	// in every WriteTimeout, while what the socket buffers did not take
	// needs several WriteTimeouts.
	buf := make([]byte, 4<<10)
	n := 0
	for {
		time.Sleep(50 * time.Millisecond)
		m, err := io.ReadFull(resp.Body, buf)
		n += m
		if err == io.EOF || err == io.ErrUnexpectedEOF && n == size+2 {
			break
		}
		require.NoError(t, err, "cut off after %d bytes", n)
	}
	require.Equal(t, size+2, n, "the whole JSON string")
}

// A timed write that fails with an error other than EAGAIN (EPIPE, on a
// connection its peer reset) returns that error at once: it neither waits
// for room that will never come nor meets the write timeout.
func TestTimedWriteFailureIsReturned(t *testing.T) {
	c := &http1ServerConn{srv: NewServer(HTTP1Params(HTTP1Parameters{WriteTimeout: time.Minute})), nc: resetConn(t)}
	var err error
	returnsWithin(t, func() { err = c.writeTimed(make([]byte, 4<<10)) })
	require.NotNil(t, c.tw, "the write went through the timed writer")
	requireBrokenWrite(t, err)
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "write", se.Syscall)
}
