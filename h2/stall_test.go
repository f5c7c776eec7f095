package h2

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// bodyHandler answers every request with n bytes.
func bodyHandler(n int) Handler {
	return HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := st.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
				return
			}
		}
	})
}

// stallServer serves bodies of n bytes with the given stall timeout and
// hands over its session. The write timeout is off: only the stall watch can
// end a session whose writes the kernel accepted or keeps blocked.
func stallServer(timeout time.Duration, n int) (*Server, chan *Session) {
	sessions := make(chan *Session, 1)
	return &Server{
		Handler:   bodyHandler(n),
		Options:   Options{StallTimeout: timeout, WriteTimeout: -1},
		OnSession: func(s *Session) { sessions <- s },
	}, sessions
}

// askLarge opens the peer's windows wide and sends one request.
func (p *peer) askLarge() {
	p.t.Helper()
	p.handshake(Setting{SettingInitialWindowSize, maxWindow})
	p.mustWrite(appendWindowUpdate(nil, 0, maxWindow-65535))
	p.request(1, true)
}

// TestStallClosesTCPPeerThatNeverReads: a client that asks for a large
// response and never reads it is disconnected once its TCP has acknowledged
// nothing for StallTimeout, with an error that says so; without the watch
// the session would live as long as the client (the write timeout is off here,
// and where the kernel absorbs a response it never fires anyway).
func TestStallClosesTCPPeerThatNeverReads(t *testing.T) {
	goroutineLeakCheck(t)
	srv, sessions := stallServer(200*time.Millisecond, 32<<20)
	p := newTCPServerPeer(t, srv)
	require.NoError(t, p.conn.(*net.TCPConn).SetReadBuffer(64<<10))
	p.askLarge()
	p.waitDone()
	require.ErrorIs(t, (<-sessions).Err(), ErrPeerNotReading)
}

// TestStallClosesPipePeerThatNeverReads: the same over an in-memory pipe,
// where no kernel counts acknowledged bytes: a PING sent behind the data
// goes unanswered.
func TestStallClosesPipePeerThatNeverReads(t *testing.T) {
	goroutineLeakCheck(t)
	srv, sessions := stallServer(200*time.Millisecond, 1<<20)
	p := newServerPeer(t, srv)
	p.askLarge()
	p.waitDone()
	require.ErrorIs(t, (<-sessions).Err(), ErrPeerNotReading)
}

// steadyReaderStall is the stall timeout of the tests whose reader is slow
// but steady: the reader is a goroutine of a test binary, which a loaded
// machine may leave without CPU for a few hundred milliseconds (300 ms cut
// off such a reader under -race -cpu 1), so it must outlast such a pause.
// Their responses are paced to span about three of it.
const steadyReaderStall = time.Second

// TestStallKeepsSlowTCPReader: a client that reads a large response far
// slower than the server writes it, but steadily, gets all of it; the
// response spans several stall periods.
func TestStallKeepsSlowTCPReader(t *testing.T) {
	goroutineLeakCheck(t)
	const size = 1 << 20
	srv, sessions := stallServer(steadyReaderStall, size)
	p := newTCPServerPeer(t, srv)
	require.NoError(t, p.conn.(*net.TCPConn).SetReadBuffer(64<<10))
	p.askLarge()
	got := 0
	for got < size {
		f, err := p.readFrame(waitLong)
		require.NoError(t, err, "after %d bytes", got)
		if f.Type == FrameData {
			got += len(f.Payload)
			time.Sleep(steadyReaderStall / 20) // 64 frames of 16 KiB: about three stall periods
		}
	}
	sess := <-sessions
	require.NoError(t, sess.Err())
	p.mustWrite(appendGoAway(nil, 0, ErrCodeNo, nil))
	_ = p.conn.Close()
	p.waitDone()
}

// TestStallIdleTCPCostsNothing: once a response has been read, the watch
// disarms: an idle connection is neither probed nor closed.
func TestStallIdleTCPCostsNothing(t *testing.T) {
	goroutineLeakCheck(t)
	const timeout = 50 * time.Millisecond
	srv, sessions := stallServer(timeout, 100<<10)
	p := newTCPServerPeer(t, srv)
	p.askLarge()
	p.startReader()
	p.expect("the end of the response", func(f rawFrame) bool { return f.Flags.Has(FlagEndStream) })
	sess := <-sessions
	waitStallDisarmed(t, sess)
	time.Sleep(6 * timeout)
	require.NoError(t, sess.Err())
	for len(p.frames) > 0 {
		f := <-p.frames
		require.NotEqual(t, FramePing, f.Type, "an idle connection with a kernel to ask was probed")
	}
	_ = p.conn.Close()
	p.waitDone()
}

// TestStallKeepsPipeSessions: over a pipe (probe mode), a client session
// that reads a large response slowly keeps its connection, and so does the
// idle connection afterwards: its probes are acknowledged, and once one is
// with nothing written since, the watch disarms.
func TestStallKeepsPipeSessions(t *testing.T) {
	goroutineLeakCheck(t)
	const timeout = steadyReaderStall
	const size = 2 << 20
	srv, sessions := stallServer(timeout, size)
	c := memPair(t, srv, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/"}, {Name: ":authority", Value: "test"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	buf := make([]byte, 32<<10)
	got := 0
	for {
		n, err := st.Read(buf)
		got += n
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		time.Sleep(timeout / 20) // 64 reads of 32 KiB: about three stall periods
	}
	require.Equal(t, size, got)
	sess := <-sessions
	waitStallDisarmed(t, sess)
	time.Sleep(2 * timeout)
	require.NoError(t, sess.Err())
	require.NoError(t, c.Err())
}

// TestStallKeepsStreamBlockedOnWindow: a client that reads everything but
// never opens its stream window leaves the server's handler blocked with data
// pending. That is flow control doing its job, not a stall: the bytes sent
// were all acknowledged, the watch disarms, and the session stays.
func TestStallKeepsStreamBlockedOnWindow(t *testing.T) {
	goroutineLeakCheck(t)
	const timeout = 50 * time.Millisecond
	srv, sessions := stallServer(timeout, 1<<20)
	p := newTCPServerPeer(t, srv)
	p.handshake() // the RFC's 64 KiB windows, never opened
	p.startReader()
	p.request(1, true)
	sess := <-sessions
	got := 0
	for got < 65535 {
		f, err := p.readFrame(waitLong)
		require.NoError(t, err)
		if f.Type == FrameData {
			got += len(f.Payload)
		}
	}
	waitStallDisarmed(t, sess)
	time.Sleep(6 * timeout)
	require.NoError(t, sess.Err())
	require.Equal(t, 1, sess.State().OpenStreams, "the response waits for window")
	_ = p.conn.Close()
	p.waitDone()
}

// waitStallDisarmed waits until sess's stall watch has stopped watching.
func waitStallDisarmed(t *testing.T, sess *Session) {
	t.Helper()
	eventually(t, "the watch disarms", func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return !sess.stall.armed
	})
}
