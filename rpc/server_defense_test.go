package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// rawConn is a hostile client: it writes frames it builds itself and reads
// the server's replies only when the test says so.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Write(h2.AppendSettings([]byte(h2.ClientPreface)))
	require.NoError(t, err)
	return &rawConn{Conn: c, br: bufio.NewReaderSize(c, 1<<16)}
}

// readFrame returns the next frame's header and payload.
func (c *rawConn) readFrame(t *testing.T) (h2.FrameHeader, []byte, error) {
	t.Helper()
	var hb [9]byte
	fh, err := h2.ReadFrameHeader(c.br, &hb)
	if err != nil {
		return fh, nil, err
	}
	p := make([]byte, fh.Length)
	_, err = io.ReadFull(c.br, p)
	return fh, p, err
}

// expectGoAway reads until a GOAWAY and returns its code and debug data.
func (c *rawConn) expectGoAway(t *testing.T) (h2.ErrCode, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		fh, p, err := c.readFrame(t)
		require.NoError(t, err, "the connection ended without GOAWAY")
		if fh.Type == h2.FrameGoAway {
			return h2.ErrCode(binary.BigEndian.Uint32(p[4:8])), string(p[8:])
		}
	}
}

// expectEOF reads until the server closes the connection.
func (c *rawConn) expectEOF(t *testing.T) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.readFrame(t); err != nil {
			require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the server never closed the connection")
			return
		}
	}
}

// peakGoroutines samples the goroutine count until stop closes, and returns
// the highest count seen.
func peakGoroutines(stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		peak := 0
		for {
			peak = max(peak, runtime.NumGoroutine())
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return out
}

// A client that floods PINGs without reading the acks breaks the keepalive
// policy on its third ping: it gets one GOAWAY ENHANCE_YOUR_CALM
// "too_many_pings" and is disconnected, and the pings after that start no
// goroutine each (they once started one apiece, 507 MiB under a flood).
func TestPingFloodAgainstRPCServer(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	before := runtime.NumGoroutine()
	c := dialRaw(t, e.addr)

	const pings = 100000
	flood := make([]byte, 0, pings*17)
	for i := 0; i < pings; i++ {
		flood = h2.AppendPing(flood, false, [8]byte{byte(i >> 16), byte(i >> 8), byte(i)})
	}
	stop := make(chan struct{})
	peak := peakGoroutines(stop)
	var wrote atomic.Int64
	written := make(chan struct{})
	go func() {
		defer close(written)
		// Small writes, so that the server reads pings while the flood goes
		// on; the server stops reading at some point and the write fails.
		for b := flood; len(b) > 0; {
			n := min(len(b), 17*64)
			if _, err := c.Write(b[:n]); err != nil {
				return
			}
			wrote.Add(int64(n))
			b = b[n:]
		}
	}()
	code, debug := c.expectGoAway(t)
	require.Equal(t, h2.ErrCodeEnhanceYourCalm, code)
	require.Equal(t, "too_many_pings", debug)
	c.expectEOF(t)
	<-written
	close(stop)
	// The server's own goroutines per connection (reader, writer) and the
	// test's two; a goroutine per ping would be thousands.
	require.Less(t, <-peak, before+20, "goroutines during a flood of %d bytes", wrote.Load())

	got, err := e.echo(ctxTimeout(t, 5*time.Second), "still serving")
	require.NoError(t, err)
	require.Equal(t, "still serving", got)
}

// A server that sends GOAWAY after GOAWAY makes the client's hook start one
// goroutine per session, not one per frame: with the ClientConn's lock held
// (so that none of them can finish), the goroutine count stays put.
func TestGoAwayFloodStartsOneGoroutine(t *testing.T) {
	checkNoLeaks(t)
	sessions := make(chan *h2.Session, 1)
	opened := make(chan struct{}, 1)
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		opened <- struct{}{}
		<-st.Context().Done() // keeps the session open while GOAWAYs arrive
	}), OnSession: func(s *h2.Session) { sessions <- s }}
	cc := clientOfH2Server(t, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := cc.NewStream(ctx, &StreamDesc{ServerStreams: true, ClientStreams: true}, "/test.Echo/Chat")
	require.NoError(t, err)
	srvSess := <-sessions
	<-opened

	const n = 500
	var after, before int
	var pingErr error
	func() {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		before = runtime.NumGoroutine()
		for i := 0; i < n; i++ {
			if pingErr = srvSess.GoAway(h2.ErrCodeNo, nil); pingErr != nil {
				return
			}
		}
		// The ack comes after the client's reader has handled every GOAWAY.
		_, pingErr = srvSess.Ping(ctx, [8]byte{})
		after = runtime.NumGoroutine()
	}()
	require.NoError(t, pingErr)
	require.Less(t, after-before, 10, "goroutines started by %d GOAWAYs", n)
	cancel()
	_ = cs.RecvMsg(new(wrapperspb.StringValue))
}
