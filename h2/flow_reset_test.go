package h2

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The bytes of a response that arrived whole and unread go back to the
// connection window when the client resets the stream, and its reads then
// report the reset, not a clean end of a body it no longer has.

const unreadFrame, unreadFrames = 16000, 3

// unreadResponse opens stream 1 against a raw server (the request's side
// ended when endRequest), has a whole response of unreadFrames DATA frames
// arrive, and returns once the stream knows its end, nothing read.
func unreadResponse(t *testing.T, endRequest bool) (*peer, *Stream) {
	t.Helper()
	p := newClientPeer(t, &ClientOptions{Options: Options{ConnWindowSize: 65535, Settings: Settings{InitialWindowSize: 65535}}})
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: endRequest})
	require.NoError(t, err)
	p.expectHeaders(1)
	p.mustWrite(appendHeaders(nil, 1, false, true, nil, p.encode(":status", "200")))
	for i := 0; i < unreadFrames; i++ {
		p.mustWrite(appendData(nil, 1, i == unreadFrames-1, make([]byte, unreadFrame)))
	}
	deadline := time.Now().Add(waitLong)
	for !st.InboundEnded() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.True(t, st.InboundEnded())
	return p, st
}

// resetUnread resets st and reads what the peer gets until the response's
// bytes are all credited to the connection and, when wantRST, the reset has
// come; it reports whether a RST_STREAM came meanwhile. The stream's reads
// must then report the reset.
func resetUnread(t *testing.T, p *peer, st *Stream, wantRST bool) (rst bool) {
	t.Helper()
	st.Reset(ErrCodeCancel)
	deadline := time.Now().Add(waitLong)
	credited := 0
	for credited < unreadFrames*unreadFrame || wantRST && !rst {
		f, err := p.readFrame(time.Until(deadline))
		require.NoError(t, err, "waiting for the unread response's credit (%d of %d bytes credited) and the reset (%v)", credited, unreadFrames*unreadFrame, rst)
		switch {
		case f.Type == FrameWindowUpdate && f.StreamID == 0:
			credited += int(windowIncrement(f))
		case f.Type == FrameRSTStream && f.StreamID == 1:
			rst = true
		}
	}
	_, err := st.Read(make([]byte, 1))
	var se *StreamError
	require.ErrorAs(t, err, &se, "a Read after the reset")
	require.Equal(t, ErrCodeCancel, se.Code)
	return rst
}

// TestResetCreditsAnEndedUnreadResponse: the stream had closed when
// END_STREAM came, so the reset used to do nothing and the bytes stayed out
// of the window for good. Nothing is sent for a closed stream.
func TestResetCreditsAnEndedUnreadResponse(t *testing.T) {
	goroutineLeakCheck(t)
	p, st := unreadResponse(t, true)
	require.False(t, resetUnread(t, p, st, false), "a closed stream's reset is not sent")
}

// TestResetOfAHalfClosedStreamCreditsItsUnreadResponse: the same while the
// client still has its side open (a bidi call): the reset goes out, and the
// response is dropped, not kept for reads the caller will not make.
func TestResetOfAHalfClosedStreamCreditsItsUnreadResponse(t *testing.T) {
	goroutineLeakCheck(t)
	p, st := unreadResponse(t, false)
	require.True(t, resetUnread(t, p, st, true))
}

// TestResetOfAReadStreamChangesNothing: resetting a closed stream whose body
// was read to the end leaves its end as it was.
func TestResetOfAReadStreamChangesNothing(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, &RespondOptions{Body: []byte("whole")})
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	body, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "whole", string(body))
	st.Reset(ErrCodeCancel)
	n, err := st.Read(make([]byte, 1))
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, io.EOF)
	_, reset := st.ResetCode()
	require.False(t, reset)
}

// TestPeerResetOfAQueuedStreamCreditsItsBody: a request whose whole body
// came while every handler was busy, and which the client then reset, is
// never served (handler_run.go skips it): its body goes back to the
// connection window at the reset, not never. Overloaded servers whose
// clients give up on queued calls used to lose window to each of them.
func TestPeerResetOfAQueuedStreamCreditsItsBody(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	defer close(release)
	p := newServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		<-release
	}), Options: Options{ConnWindowSize: 65535, Settings: Settings{MaxConcurrentStreams: 1, InitialWindowSize: 65535}}})
	p.handshake()
	p.startReader()
	p.request(1, true)
	p.mustWrite(appendRSTStream(nil, 1, ErrCodeCancel)) // stream 1 is gone, its handler still busy
	p.request(3, false)
	for i := 0; i < unreadFrames; i++ {
		p.mustWrite(appendData(nil, 3, i == unreadFrames-1, make([]byte, unreadFrame)))
	}
	p.mustWrite(appendRSTStream(nil, 3, ErrCodeCancel))
	deadline := time.Now().Add(waitLong)
	credited := 0
	for credited < unreadFrames*unreadFrame {
		f, err := p.readFrame(time.Until(deadline))
		require.NoError(t, err, "waiting for the queued stream's credit (%d of %d bytes credited)", credited, unreadFrames*unreadFrame)
		if f.Type == FrameWindowUpdate && f.StreamID == 0 {
			credited += int(windowIncrement(f))
		}
	}
}

// TestPeerResetAfterAWholeBodyFailsTheHandlersRead: a client that resets its
// stream after sending the whole body takes the body back with it: the
// handler's read reports the reset, not the clean end of a body it no longer
// has.
func TestPeerResetAfterAWholeBodyFailsTheHandlersRead(t *testing.T) {
	goroutineLeakCheck(t)
	reset := make(chan struct{})
	got := make(chan error, 1)
	p := newServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		<-reset
		for st.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		_, err := io.ReadAll(st)
		got <- err
	})})
	p.handshake()
	p.startReader()
	p.request(1, false)
	p.mustWrite(appendData(nil, 1, true, make([]byte, 1000)))
	p.mustWrite(appendRSTStream(nil, 1, ErrCodeCancel))
	close(reset)
	var se *StreamError
	require.ErrorAs(t, <-got, &se)
	require.Equal(t, ErrCodeCancel, se.Code)
}

// TestServersResetAfterACompleteResponseKeepsIt: a server may answer in full
// and then reset the stream with NO_ERROR to stop the client's upload; the
// client must not discard the response (RFC 9113 §8.1), so the reset that
// drops a peer's unread body leaves the response to our own request whole.
func TestServersResetAfterACompleteResponseKeepsIt(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), post("/"), nil) // still uploading
	require.NoError(t, err)
	p.expectHeaders(1)
	p.mustWrite(appendHeaders(nil, 1, false, true, nil, p.encode(":status", "200")))
	p.mustWrite(appendData(nil, 1, true, []byte("the whole answer")))
	p.mustWrite(appendRSTStream(nil, 1, ErrCodeNo))
	deadline := time.Now().Add(waitLong)
	for st.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.Error(t, st.Err(), "the reset arrived")
	body, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "the whole answer", string(body))
}
