package h2

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// A read batch of 32 new streams wakes one handler goroutine, promised the
// first stream; the other 31 wait in the queue for it, or for the goroutine
// it sends on its way, instead of costing a wake-up each (handler_run.go).
// All 32 are served.
func TestBatchOfStreamsWakesOneHandler(t *testing.T) {
	goroutineLeakCheck(t)
	c, p := net.Pipe()
	t.Cleanup(func() { _ = p.Close() })
	s := newSession(c, false, Options{})
	var served sync.WaitGroup
	served.Add(32)
	s.handler = HandlerFunc(func(st *Stream) {
		defer served.Done()
		_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
	})

	s.lockAsReader()
	for i := range 32 {
		st := s.newStreamLocked(uint32(2*i+1), nil)
		st.recv.headersIn()
		require.NoError(t, s.dispatchLocked(st))
	}
	require.Len(t, s.startQ, 1, "one goroutine woken for the batch")
	require.Equal(t, uint32(1), s.startQ[0].st.id, "promised the first stream")
	require.Equal(t, 31, s.queuedLocked())
	require.Equal(t, int32(32), s.starting.Load(), "every stream holds the writer's wake-up until begun")
	s.unlockAsReader()

	s.flushReaderWakes()
	served.Wait()
	s.finish(nil) // ends the idle handler goroutines
	require.Zero(t, s.starting.Load())
}

// Handlers that block until every stream of the batch has begun: each
// goroutine that begins a stream sends the next one on its way, so no
// queued stream waits behind a blocked handler.
func TestQueuedStreamsNeverWaitBehindBlockedHandlers(t *testing.T) {
	goroutineLeakCheck(t)
	const n = 32
	var begun atomic.Int32
	all := make(chan struct{})
	p := newTCPServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		if begun.Add(1) == n {
			close(all)
		}
		<-all
		_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
	})})
	p.handshake()
	p.startReader()
	var batch []byte
	block := p.encode(getRequest()...)
	for i := range n {
		batch = appendHeaders(batch, uint32(2*i+1), true, true, nil, block)
	}
	p.mustWrite(batch)
	expectResponses(t, p, n)
}

// expectResponses waits for the responses (status 204) of n streams, in
// whatever order their handlers answer.
func expectResponses(t *testing.T, p *peer, n int) {
	t.Helper()
	answered := map[uint32]bool{}
	for len(answered) < n {
		f, _ := p.expect("a response", func(f rawFrame) bool { return f.Fields != nil })
		require.Equal(t, "204", f.Fields.Get(":status"))
		require.False(t, answered[f.StreamID], "stream %d answered twice", f.StreamID)
		answered[f.StreamID] = true
	}
}

// Streams queued while MaxConcurrentStreams handlers already run wait for
// one of them to end, which may take long: they must not hold the writer's
// wake-up meanwhile. Here both handlers block (one for a stream the client
// reset), a third stream waits, and the PING ack behind them still goes out
// (queueBehindBlockedHandlers waits for it).
func TestStreamsWaitingForAHandlerDoNotHoldTheWriter(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	var served atomic.Int32
	_, p := queueBehindBlockedHandlers(t, release, &served)
	close(release)
	expectResponses(t, p, 2) // streams 3 and 5; 1 was reset
}

// queueBehindBlockedHandlers starts a server whose two handler slots
// (MaxConcurrentStreams 2) are taken by handlers blocked until release, one
// of them for a stream the client reset, with stream 5 queued behind them.
// It returns when the server has read all of it (its PING ack came).
// Released, the handlers answer 204, or do what the optional then does.
func queueBehindBlockedHandlers(t *testing.T, release chan struct{}, served *atomic.Int32, then ...func(*Stream)) (*Server, *peer) {
	srv := &Server{
		Handler: HandlerFunc(func(st *Stream) {
			served.Add(1)
			<-release
			if len(then) > 0 {
				then[0](st)
				return
			}
			_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
		}),
		Options:  Options{Settings: Settings{MaxConcurrentStreams: 2}},
		ErrorLog: func(string, ...any) {}, // the panics of TestQueuedStreamServedAfterHandlersPanic
	}
	p := newTCPServerPeer(t, srv)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	p.handshake()
	p.startReader()
	block := p.encode(getRequest()...)
	batch := appendHeaders(nil, 1, true, true, nil, block)
	batch = appendRSTStream(batch, 1, ErrCodeCancel) // its handler runs on
	batch = appendHeaders(batch, 3, true, true, nil, block)
	batch = appendHeaders(batch, 5, true, true, nil, block)
	batch = AppendPing(batch, false, [8]byte{'q', 'u', 'e', 'u', 'e', 'd'})
	p.mustWrite(batch)
	p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
	return srv, p
}

// A session that ends while a stream waits for a handler: the queued stream
// is never served, the blocked handlers' goroutines end once their handlers
// return, and none waits idle for a stream that cannot come.
func TestSessionEndingWithQueuedStreamsLeavesNoHandler(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	var served atomic.Int32
	_, p := queueBehindBlockedHandlers(t, release, &served)
	require.Equal(t, int32(2), served.Load())
	_ = p.conn.Close()
	p.waitDone()
	close(release)
	// The leak check waits for the handlers' goroutines; stream 5 was not
	// begun meanwhile.
	t.Cleanup(func() { require.Equal(t, int32(2), served.Load()) })
}

// A graceful shutdown serves the stream that waits for a handler: it came
// before the GOAWAY's last stream ID.
func TestShutdownServesQueuedStreams(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	var served atomic.Int32
	srv, p := queueBehindBlockedHandlers(t, release, &served)
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	p.expect("first GOAWAY", func(f rawFrame) bool { return f.Type == FrameGoAway })
	ping, _ := p.expect("PING", func(f rawFrame) bool { return f.Type == FramePing && !f.Flags.Has(FlagAck) })
	p.mustWrite(AppendPing(nil, true, [8]byte(ping.Payload)))
	last, _ := p.expect("second GOAWAY", func(f rawFrame) bool { return f.Type == FrameGoAway })
	require.Equal(t, uint32(5), last.lastStreamID())
	close(release)
	expectResponses(t, p, 2) // streams 3 and 5; 1 was reset
	require.NoError(t, <-shut)
	require.Equal(t, int32(3), served.Load())
}

// Handlers that panic with a stream queued behind them: their goroutines
// recover and serve it.
func TestQueuedStreamServedAfterHandlersPanic(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	var served atomic.Int32
	_, p := queueBehindBlockedHandlers(t, release, &served, func(st *Stream) {
		if st.ID() != 5 {
			panic("boom")
		}
		_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
	})
	close(release)
	var reset3, answered5 bool // in either order: stream 5 may be served first
	for !reset3 || !answered5 {
		f, _ := p.expect("RST_STREAM on 3 or a response", func(f rawFrame) bool {
			return f.Type == FrameRSTStream && f.StreamID == 3 || f.Fields != nil
		})
		if f.Fields != nil {
			require.Equal(t, uint32(5), f.StreamID)
			require.Equal(t, "204", f.Fields.Get(":status"))
			answered5 = true
			continue
		}
		require.Equal(t, ErrCodeInternal, f.code())
		reset3 = true
	}
	require.Equal(t, int32(3), served.Load())
}
