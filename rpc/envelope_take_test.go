package rpc

import (
	"bytes"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
)

type takeResult struct {
	payload []byte
	taken   bool
	err     error
}

// takePair serves h2 streams whose handler reads one message with an
// envelopeReader and reports how it came: handed over by the stream
// (taken) or copied into a buffer of recvBufs. On "/early" the handler
// reads only once the whole request has arrived; on "/late" it reads at
// once, and the client sends the message after that (reading is closed
// just before the read).
func takePair(t *testing.T) (sess *h2.Session, results <-chan takeResult, reading <-chan struct{}) {
	t.Helper()
	res := make(chan takeResult, 1)
	rd := make(chan struct{}, 1)
	ho := h2.Options{}
	ho.Settings.MaxFrameSize = maxFrameSize
	hs := &h2.Server{Options: ho, Handler: h2.HandlerFunc(func(st *h2.Stream) {
		if st.Path() == "/early" {
			for !st.InboundEnded() {
				time.Sleep(time.Millisecond)
			}
		} else {
			rd <- struct{}{}
		}
		er := envelopeReader{r: st, maxSize: defaultMaxRecvMsgSize}
		payload, mb, err := er.next()
		res <- takeResult{payload: bytes.Clone(payload), taken: mb.taken.Bytes() != nil, err: err}
		mb.release()
		_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}}, &h2.RespondOptions{EndStream: true})
	})}
	l := NewInMemoryListener()
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { _ = hs.Close() })
	conn, err := l.Dial(ctxTimeout(t, 5*time.Second), "")
	require.NoError(t, err)
	sess, err = h2.NewClientSession(conn, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	// Until the server's SETTINGS are in, a body goes in 16 KiB frames, and a
	// message larger than 64 KiB in such frames spans buffers (streambuf.go).
	require.Eventually(t, func() bool { return sess.RemoteSettings().MaxFrameSize == maxFrameSize }, 5*time.Second, time.Millisecond)
	return sess, res, rd
}

func request(t *testing.T, sess *h2.Session, path string, body []byte, end bool) *h2.Stream {
	t.Helper()
	st, err := sess.Request(ctxTimeout(t, 5*time.Second), h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path}},
		&h2.RequestOptions{Body: body, EndStream: end})
	require.NoError(t, err)
	return st
}

// A message that is in the stream whole when it is read is handed over in
// the stream's own buffer, not copied into one of ours: whether it arrived
// before the read (a unary request comes with its headers), or after the
// read had its prefix (a response in one large frame).
func TestEnvelopeReaderTakesAMessageTheStreamHoldsWhole(t *testing.T) {
	checkNoLeaks(t)
	sess, results, reading := takePair(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16)

	st := request(t, sess, "/early", frame(0, payload), true)
	r := <-results
	require.NoError(t, r.err)
	require.True(t, bytes.Equal(payload, r.payload), "the message arrived changed")
	require.True(t, r.taken, "a message buffered whole was copied")
	_, err := st.Response(ctxTimeout(t, 5*time.Second))
	require.NoError(t, err)

	st = request(t, sess, "/late", nil, false)
	<-reading
	time.Sleep(10 * time.Millisecond) // lets the handler wait with its small first buffer; it takes the message either way
	_, err = st.End(frame(0, payload), nil)
	require.NoError(t, err)
	r = <-results
	require.NoError(t, r.err)
	require.True(t, bytes.Equal(payload, r.payload), "the message arrived changed")
	require.True(t, r.taken, "a message that came in one frame was copied")
	_, err = st.Response(ctxTimeout(t, 5*time.Second))
	require.NoError(t, err)
}

// A message followed in the stream by more than itself is copied out as
// before (handing the buffer over would mean copying what follows), and
// the messages behind it read the same.
func TestEnvelopeReaderCopiesAMessageWithMoreBehindIt(t *testing.T) {
	sess, results, _ := takePair(t)
	small, big := []byte("small"), bytes.Repeat([]byte{7}, 50<<10)
	st := request(t, sess, "/early", append(frame(0, small), frame(0, big)...), true)
	r := <-results
	require.NoError(t, r.err)
	require.Equal(t, small, r.payload)
	require.False(t, r.taken)
	_, err := st.Response(ctxTimeout(t, 5*time.Second))
	require.NoError(t, err)
}
