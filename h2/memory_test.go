package h2

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIdleSessionHeap bounds the Go heap an idle connection holds, server
// and client sessions together, after one request over loopback TCP:
// buffers needed only while bytes flow (the 64 KiB read buffer, the output
// buffer) are borrowed from pools and given back when the connection goes
// quiet. Measured on linux/amd64 (Go heap in use after a collection, per
// pair of sessions): 149 KB when each session owned a 64 KiB read buffer,
// 19.7 KB with them borrowed, 17.5 KB since the control-frame queues are
// given back too and the HPACK memos are made by the first header block;
// that includes the sessions' four goroutines' descriptors,
// the sockets, and the stall watch's timers, still armed after the last write.
func TestIdleSessionHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 500 connections")
	}
	goroutineLeakCheck(t)
	const conns = 500
	srv := &Server{Handler: okHandler}
	addr := newTestServer(t, srv)
	// A first round trip warms the pools shared by all sessions.
	_, _, err := roundTrip(ctxT(t), dialTest(t, addr, nil), "/", []byte("hello"))
	require.NoError(t, err)
	clients := make([]*Session, 0, conns)
	before := heapInUse()
	for range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		cs, err := NewClientSession(c, nil)
		require.NoError(t, err)
		clients = append(clients, cs)
		// A bound per round trip: one for all 500 was a speed requirement
		// that a loaded machine missed (11 s under -race -cpu 1).
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		_, _, err = roundTrip(ctx, cs, "/", []byte("hello"))
		cancel()
		require.NoError(t, err)
	}
	after := heapInUse()
	perConn := (int64(after) - int64(before)) / conns
	t.Logf("Go heap per idle connection (server and client session): %d bytes", perConn)
	for _, cs := range clients {
		cs.Abort(ErrCodeNo, nil)
	}
	require.Less(t, perConn, int64(20<<10))
}

// TestServerSessionGoroutines: a served connection costs two goroutines,
// the reader and the writer. ServeConn's own goroutine is the reader: one
// that only waited for the session to end was a goroutine's descriptor and
// stack of every idle connection.
func TestServerSessionGoroutines(t *testing.T) {
	goroutineLeakCheck(t)
	const conns = 4
	sessions := make(chan *Session, conns)
	addr := newTestServer(t, &Server{Handler: okHandler, OnSession: func(s *Session) { sessions <- s }})
	for range conns {
		_, _, err := roundTrip(ctxT(t), dialTest(t, addr, nil), "/", nil)
		require.NoError(t, err)
		<-sessions
	}
	buf := make([]byte, 1<<20)
	stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	serving, waiting := 0, 0
	for _, g := range stacks {
		if i := strings.Index(g, "\ncreated by "); i >= 0 {
			g = g[:i] // the frames it runs, not where it began
		}
		if !strings.Contains(g, "h2.(*Server).ServeConn") {
			continue
		}
		serving++
		if !strings.Contains(g, "h2.(*Session).readLoop") {
			waiting++
		}
	}
	require.Equal(t, conns, serving, "a ServeConn per connection")
	require.Zero(t, waiting, "ServeConn goroutines that only wait for their session")
}

// TestIdleSessionKeepsNoEmptiedArrays: a session that has sent nothing but
// its SETTINGS, acknowledged, holds no write queue and no emptied SETTINGS
// bookkeeping: arrays every idle connection would keep for nothing.
func TestIdleSessionKeepsNoEmptiedArrays(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	c := memPair(t, &Server{Handler: okHandler, OnSession: func(s *Session) { serverSess <- s }}, nil)
	ss := <-serverSess
	for _, s := range []*Session{ss, c} {
		eventually(t, "SETTINGS acknowledged", func() bool { return !s.PendingSettingsAck() })
		s.mu.Lock()
		pending, waits := s.pendingLocal, s.settingsWait
		var queues int
		for _, q := range s.sched.ready {
			queues += cap(q)
		}
		s.mu.Unlock()
		require.Nil(t, pending)
		require.Nil(t, waits)
		require.Zero(t, queues, "room in the write scheduler's queues")
	}
}
