package h2

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func inlineWritesOf(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inlineWrites
}

// idEchoHandler answers with the request's x-id header, its body, and a
// trailer naming the id again: a response that tells whether the frames of
// each stream, and the HPACK blocks of all of them, arrived in order.
var idEchoHandler = HandlerFunc(func(st *Stream) {
	id := st.Header().Get("x-id")
	body, err := io.ReadAll(st)
	if err != nil {
		st.Reset(ErrCodeInternal)
		return
	}
	if err := st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x-id", Value: id}}, nil); err != nil {
		return
	}
	// Two writes and an end with trailers: several frames per stream.
	half := len(body) / 2
	if _, err := st.Write(body[:half]); err != nil {
		return
	}
	_, _ = st.End(body[half:], Header{{Name: "x-id-trailer", Value: id}})
})

// TestInlineWriteOnIdleSession: on an idle TCP connection the caller writes
// its request, and the handler its response, without waking the writer
// goroutine.
func TestInlineWriteOnIdleSession(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	srv := &Server{Handler: idEchoHandler, OnSession: func(s *Session) { serverSess <- s }}
	c := dialTest(t, newTestServer(t, srv), nil)
	const calls = 20
	for i := range calls {
		id := strconv.Itoa(i)
		st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}, {Name: "x-id", Value: id}},
			&RequestOptions{Body: []byte("ping " + id), EndStream: true})
		require.NoError(t, err)
		h, err := st.Response(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, id, h.Get("x-id"))
		got, err := io.ReadAll(st)
		require.NoError(t, err)
		require.Equal(t, "ping "+id, string(got))
	}
	s := <-serverSess
	// Each call is one inline write on each side unless the writer goroutine
	// happened to be busy (its SETTINGS ack, a WINDOW_UPDATE): without inline
	// writes both counts are 0.
	require.GreaterOrEqual(t, inlineWritesOf(c), calls/2, "client requests written by their callers")
	require.GreaterOrEqual(t, inlineWritesOf(s), calls/2, "responses written by their handlers")
}

// TestConcurrentInlineWritersKeepOrder: many callers on one TCP session,
// each sending headers that enter the HPACK table (and evict others) and a
// body in several writes, while the handlers answer the same way. Callers
// write inline or leave their frames to the writer goroutine as the token
// allows; either way every header block must decode (HPACK blocks on the
// wire in encoding order) and every body arrive whole (a stream's frames
// in order).
func TestConcurrentInlineWritersKeepOrder(t *testing.T) {
	goroutineLeakCheck(t)
	defer func(n int) { inlineMaxStreams = n }(inlineMaxStreams)
	inlineMaxStreams = 1 << 20 // inline whenever the token is free, however many streams
	serverSess := make(chan *Session, 1)
	srv := &Server{Handler: idEchoHandler, OnSession: func(s *Session) { serverSess <- s }}
	c := dialTest(t, newTestServer(t, srv), nil)
	const workers, calls = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				if err := orderedCall(ctxT(t), c, w, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, c.Err())
	s := <-serverSess
	require.NoError(t, s.Err())
	require.Positive(t, inlineWritesOf(c)+inlineWritesOf(s), "some frames went out inline")
}

func orderedCall(ctx context.Context, c *Session, w, i int) error {
	id := fmt.Sprintf("%d-%d-%s", w, i, bytes.Repeat([]byte{'v'}, (w*7+i*13)%300))
	st, err := c.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}, {Name: "x-id", Value: id}}, nil)
	if err != nil {
		return err
	}
	body := bytes.Repeat([]byte(id), 1+(w*131+i*977)%200)
	for p := body; len(p) > 0; {
		n := min(len(p), 1000+w*10)
		if _, err := st.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	if err := st.CloseWrite(); err != nil {
		return err
	}
	h, err := st.Response(ctx)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(st)
	if err != nil {
		return err
	}
	switch {
	case h.Get("x-id") != id:
		return fmt.Errorf("call %s: response header x-id %q", id, h.Get("x-id"))
	case !bytes.Equal(got, body):
		return fmt.Errorf("call %s: body of %d bytes came back as %d different bytes", id, len(body), len(got))
	case st.Trailers().Get("x-id-trailer") != id:
		return fmt.Errorf("call %s: trailer %q", id, st.Trailers().Get("x-id-trailer"))
	}
	return nil
}

// TestInlineWriteNeverWaitsForPeer: a caller writes inline only what the
// socket takes at once. With a peer that stopped reading, the socket's
// buffers full and the writer goroutine idle, Request, Write and End of
// more than the buffers hold still return at once; what the socket did not
// take waits for the writer goroutine, which then blocks in its own write.
func TestInlineWriteNeverWaitsForPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			// Fixed buffers, not autotuned ones that could take it all.
			_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		accepted <- c
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).SetWriteBuffer(64<<10))
	sess, err := NewClientSession(conn, nil)
	require.NoError(t, err)
	raw := <-accepted
	require.NotNil(t, raw)
	p := newPeer(t, raw)
	t.Cleanup(func() {
		_ = raw.Close()
		sess.Abort(ErrCodeNo, nil)
	})
	const window = 4 << 20 // far more than the kernel holds between the two ends
	p.serverHandshakeNoReader(Setting{SettingInitialWindowSize, window})
	p.mustWrite(appendWindowUpdate(nil, 0, maxWindow-65535))
	waitFor(t, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.sendFlow.avail() == maxWindow
	})

	// One stream spends its whole window, far more than the socket holds.
	big, err := sess.Request(ctxT(t), post("/big"), nil)
	require.NoError(t, err)
	wrote := make(chan error, 1)
	go func() {
		_, err := big.Write(make([]byte, window))
		wrote <- err
	}()
	// The peer reads a little at a time until the writer goroutine has
	// written all of it and let the token go: the socket is then as full as
	// the peer's last read left it, and nothing more will be read.
	idle := func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return !sess.writing && len(sess.wbuf) == 0 && big.sendFlow.avail() == 0 && big.pendingLen() == 0
	}
	buf := make([]byte, 4<<10)
	require.NoError(t, raw.SetReadDeadline(time.Now().Add(waitLong)))
	for !idle() {
		_, err := io.ReadFull(raw, buf)
		require.NoError(t, err)
	}
	require.NoError(t, <-wrote)

	done := make(chan error, 1)
	go func() {
		// Pieces under zeroCopyMin, copied and framed by the caller itself,
		// more than the socket has room for, less than the stream buffers.
		piece := make([]byte, 60<<10)
		st, err := sess.Request(ctxT(t), post("/small"), &RequestOptions{Body: piece})
		for i := 0; i < 2 && err == nil; i++ {
			_, err = st.Write(piece)
		}
		if err == nil {
			_, err = st.End(piece, nil)
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitLong):
		t.Fatal("Request, Write or End waited for a peer that does not read")
	}
	require.Positive(t, inlineWritesOf(sess), "the small request went out inline, in part")
}

// waitFor polls cond until it holds, failing the test after waitLong.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWriterBatchesForManyStreams: with more open streams than
// inlineMaxStreams, callers leave their frames to the writer goroutine, which
// gathers the frames of many calls into one write.
func TestWriterBatchesForManyStreams(t *testing.T) {
	goroutineLeakCheck(t)
	c := dialTest(t, newTestServer(t, &Server{Handler: idEchoHandler}), nil)
	require.NoError(t, orderedCall(ctxT(t), c, 0, 0)) // the session settled: SETTINGS and acks are out
	open, err := c.Request(ctxT(t), post("/"), nil)   // a second open stream
	require.NoError(t, err)
	before := inlineWritesOf(c)
	require.NoError(t, orderedCall(ctxT(t), c, 1, 1))
	require.Equal(t, before, inlineWritesOf(c), "a call on a session with another open stream wrote inline")
	open.Reset(ErrCodeCancel)
}
