package h2

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTwoPhaseGoAway follows a server's graceful close frame by frame (RFC
// 9113 §6.8): GOAWAY with the maximal stream id and a PING; streams the
// client opens before acking that PING are still served; after the ack, a
// second GOAWAY names the real last stream; streams above it are ignored;
// the connection closes once the served streams finish.
func TestTwoPhaseGoAway(t *testing.T) {
	goroutineLeakCheck(t)
	var handled atomic.Int32
	release := make(chan struct{})
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		handled.Add(1)
		<-release
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}
	serverSess := make(chan *Session, 1)
	srv.OnSession = func(s *Session) { serverSess <- s }
	p := newServerPeer(t, srv)
	p.handshake()
	p.startReader()
	p.request(1, true)
	ss := <-serverSess
	eventually(t, "stream 1 reaches its handler", func() bool { return handled.Load() == 1 })

	closed := make(chan struct{})
	go func() { _ = ss.Close(); close(closed) }()
	first, _ := p.expect("first GOAWAY", func(f rawFrame) bool { return f.Type == FrameGoAway })
	require.Equal(t, ErrCodeNo, first.code())
	require.Equal(t, uint32(1<<31-1), first.lastStreamID(), "the first GOAWAY announces the maximal id")
	ping, _ := p.expect("PING", func(f rawFrame) bool { return f.Type == FramePing && !f.Flags.Has(FlagAck) })

	// In flight before we saw the GOAWAY: still processed.
	p.request(3, true)
	eventually(t, "stream 3 reaches its handler", func() bool { return handled.Load() == 2 })
	p.mustWrite(AppendPing(nil, true, [8]byte(ping.Payload)))
	second, _ := p.expect("second GOAWAY", func(f rawFrame) bool { return f.Type == FrameGoAway })
	require.Equal(t, ErrCodeNo, second.code())
	require.Equal(t, uint32(3), second.lastStreamID())

	// Opened after the final GOAWAY: never processed (no handler, no answer).
	p.request(5, true)
	p.mustWrite(AppendPing(nil, false, [8]byte{'s', 'y', 'n', 'c'}))
	_, seen := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
	for _, f := range seen {
		require.NotEqual(t, uint32(5), f.StreamID, "stream 5 got %v", f)
	}
	require.Equal(t, int32(2), handled.Load())
	select {
	case <-closed:
		t.Fatal("Close returned with streams in flight")
	default:
	}
	close(release)
	served := map[uint32]bool{}
	for _, f := range p.expectClosed() {
		if f.Fields != nil {
			served[f.StreamID] = true
		}
	}
	require.Equal(t, map[uint32]bool{1: true, 3: true}, served)
	<-closed
	p.waitDone()
	require.NoError(t, ss.Err())
}

// TestGoAwayFromClientStopsServer: a client's GOAWAY makes the server session
// finish its streams and close, and the server opens nothing new.
func TestGoAwayFromClientStopsServer(t *testing.T) {
	goroutineLeakCheck(t)
	var goAways atomic.Int32
	srv := &Server{Handler: okHandler, Options: Options{Hooks: Hooks{
		OnGoAway: func(_ *Session, code ErrCode, last uint32, debug []byte) {
			if code == ErrCodeNo && last == 0 && string(debug) == "done" {
				goAways.Add(1)
			}
		},
	}}}
	p := newServerPeer(t, srv)
	p.handshake()
	p.startReader()
	p.request(1, false)
	p.mustWrite(appendGoAway(nil, 0, ErrCodeNo, []byte("done")))
	p.mustWrite(appendData(nil, 1, true, []byte("bye")))
	h := p.expectHeaders(1)
	require.Equal(t, "200", h.Fields.Get(":status"))
	p.expectClosed()
	p.waitDone()
	require.Equal(t, int32(1), goAways.Load())
}

// TestShutdownUnderLoadLosesNothing: clients keep sending requests while the
// server shuts down gracefully; every request either completes or fails with
// an error matching ErrUnprocessed (safe to retry). None is lost in between.
func TestShutdownUnderLoadLosesNothing(t *testing.T) {
	t.Run("loopback", func(t *testing.T) {
		goroutineLeakCheck(t)
		srv := &Server{Handler: okHandler}
		shutdownUnderLoad(t, srv, dialTest(t, newTestServer(t, srv), nil))
	})
	t.Run("memory", func(t *testing.T) {
		goroutineLeakCheck(t)
		srv := &Server{Handler: okHandler}
		shutdownUnderLoad(t, srv, memPair(t, srv, nil))
	})
}

func shutdownUnderLoad(t *testing.T, srv *Server, c *Session) {
	var served atomic.Int32
	errs := make(chan error, 8)
	for w := 0; w < 4; w++ {
		go func() {
			for {
				status, body, err := roundTrip(ctxT(t), c, "/", []byte("load"))
				if err != nil {
					errs <- err
					return
				}
				if status != "200" || string(body) != "load" {
					errs <- fmt.Errorf("status %s body %q", status, body)
					return
				}
				served.Add(1)
			}
		}()
	}
	eventually(t, "requests flow", func() bool { return served.Load() > 20 })
	require.NoError(t, srv.Shutdown(ctxT(t)))
	for w := 0; w < 4; w++ {
		err := <-errs
		require.ErrorIs(t, err, ErrUnprocessed, "a request was lost in the shutdown")
	}
}
