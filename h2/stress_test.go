package h2

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestManyConcurrentStreams: many streams at once on one session, each with
// its own body, all come back intact (write coalescing, handler reuse and the
// scheduler under the race detector).
func TestManyConcurrentStreams(t *testing.T) {
	transports(t, func() *Server { return &Server{Handler: okHandler} }, func(t *testing.T, c *Session) {
		// One round trip first: until the server's SETTINGS arrive the client
		// may open any number of streams, and those beyond 100 are refused.
		_, err := c.Ping(ctxT(t), [8]byte{})
		require.NoError(t, err)
		const n = 150
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := bytes.Repeat([]byte(fmt.Sprintf("stream-%d;", i)), 1+i*37%500)
				status, got, err := roundTrip(ctxT(t), c, fmt.Sprintf("/%d", i), body)
				switch {
				case err != nil:
					errs <- err
				case status != "200" || !bytes.Equal(got, body):
					errs <- fmt.Errorf("request %d: status %s, %d of %d bytes back", i, status, len(got), len(body))
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestReadsOfAnySize: the receiver reads with buffers of random sizes while
// the sender writes chunks of random sizes (some large enough to be lent to
// the writer without a copy); the bytes arrive exactly once, in order.
func TestReadsOfAnySize(t *testing.T) {
	goroutineLeakCheck(t)
	rng := rand.New(rand.NewSource(7))
	want := make([]byte, 3<<20)
	rng.Read(want)
	got := make(chan []byte, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		r := rand.New(rand.NewSource(8))
		var b []byte
		for {
			buf := make([]byte, 1+r.Intn(70000))
			n, err := st.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- b
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 1+rng.Intn(200000))
		chunk := append([]byte(nil), rest[:n]...)
		_, err := st.Write(chunk)
		require.NoError(t, err)
		for i := range chunk {
			chunk[i] = 0xAA // Write has returned: the buffer is ours again
		}
		rest = rest[n:]
	}
	require.NoError(t, st.CloseWrite())
	require.True(t, bytes.Equal(want, <-got), "the body arrived altered")
}

// TestPartialWriteAfterDeadline: a large Write cut short by the stream
// deadline reports exactly the bytes that were framed, and none of its buffer
// is sent after it returned (the caller may reuse it at once); writing the
// rest after clearing the deadline yields the exact body.
func TestPartialWriteAfterDeadline(t *testing.T) {
	goroutineLeakCheck(t)
	orig := make([]byte, 1<<20) // more than any stream buffer
	rand.New(rand.NewSource(3)).Read(orig)
	type result struct {
		n   int
		err error
	}
	first := make(chan result, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, nil)
		buf := append([]byte(nil), orig...)
		st.SetDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := st.Write(buf)
		for i := range buf {
			buf[i] = 0xEE
		}
		first <- result{n, err}
		st.SetDeadline(time.Time{})
		if _, err := st.Write(orig[n:]); err == nil {
			_ = st.CloseWrite()
		}
	})}
	p := newServerPeer(t, srv)
	p.handshake(Setting{SettingInitialWindowSize, 1000})
	p.startReader()
	p.request(1, true)
	r := <-first
	require.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
	require.Less(t, r.n, len(orig), "the Write was cut short")
	p.mustWrite(appendWindowUpdate(nil, 1, 1<<20))
	p.mustWrite(appendWindowUpdate(nil, 0, 1<<20))
	got := p.body(1)
	require.True(t, bytes.Equal(orig, got), "body differs: %d bytes, want %d", len(got), len(orig))
}

// TestReadReturnsWhatArrived: a Read with a large buffer returns the bytes
// that arrived instead of waiting for the buffer to fill (io.Reader: "Read
// conventionally returns what is available instead of waiting for more").
func TestReadReturnsWhatArrived(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan int, 1)
	p := newServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		n, _ := st.Read(make([]byte, 1<<20))
		got <- n
		<-st.Context().Done()
	})})
	p.handshake()
	p.startReader()
	p.request(1, false)
	time.Sleep(50 * time.Millisecond) // the handler is waiting in Read
	p.mustWrite(appendData(nil, 1, false, make([]byte, 100)))
	select {
	case n := <-got:
		require.Equal(t, 100, n)
	case <-time.After(waitLong):
		t.Fatal("Read still waiting with 100 bytes received")
	}
	p.mustWrite(appendRSTStream(nil, 1, ErrCodeCancel))
}

// TestBodyThenResetDrainsCleanly: a client that sends part of a body and
// resets leaves the server's windows consistent: the next streams on the
// session still move megabytes.
func TestBodyThenResetDrainsCleanly(t *testing.T) {
	goroutineLeakCheck(t)
	small := Options{Settings: Settings{InitialWindowSize: 65535}, ConnWindowSize: 65535}
	c := memPair(t, &Server{Handler: okHandler, Options: small}, &ClientOptions{Options: small})
	for i := 0; i < 5; i++ {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		_, err = st.Write(make([]byte, 50000))
		require.NoError(t, err)
		st.Reset(ErrCodeCancel)
	}
	body := bytes.Repeat([]byte{'m'}, 4<<20)
	status, got, err := roundTrip(ctxT(t), c, "/", body)
	require.NoError(t, err)
	require.Equal(t, "200", status)
	require.Equal(t, len(body), len(got))
	_, err = io.Copy(io.Discard, bytes.NewReader(got))
	require.NoError(t, err)
}

// TestConcurrentReadersShareTheBody: two goroutines reading one stream
// (Stream methods are safe for concurrent use) together receive every byte
// exactly once: no byte lost, none invented.
func TestConcurrentReadersShareTheBody(t *testing.T) {
	goroutineLeakCheck(t)
	const size = 2 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i % 251)
	}
	type tally struct {
		counts [256]int
		total  int
		err    error
	}
	result := make(chan tally, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		var mu sync.Mutex
		var all tally
		var wg sync.WaitGroup
		for r := 0; r < 2; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 3000+r*1000)
				for {
					for i := range buf {
						buf[i] = 0xFF // never sent: 251 values only
					}
					n, err := st.Read(buf)
					if n > len(buf) {
						err = fmt.Errorf("Read returned %d for a %d-byte buffer", n, len(buf))
						n = 0
					}
					mu.Lock()
					if err != nil && err != io.EOF && all.err == nil {
						all.err = err
					}
					for _, b := range buf[:n] {
						all.counts[b]++
					}
					all.total += n
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		result <- all
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	for off := 0; off < size; off += 10000 {
		_, err := st.Write(body[off:min(off+10000, size)])
		require.NoError(t, err)
	}
	require.NoError(t, st.CloseWrite())
	got := <-result
	require.NoError(t, got.err)
	require.Equal(t, size, got.total, "bytes received")
	require.Zero(t, got.counts[0xFF], "bytes that were never sent")
	for v := 0; v < 251; v++ {
		want := size / 251
		if v < size%251 {
			want++
		}
		require.Equal(t, want, got.counts[v], "count of byte value %d", v)
	}
}

// TestUploadAfterEarlyResponse: a handler that answers and returns without
// reading the body must not stall a client still uploading more than a
// window's worth: the dropped bytes are credited (or the upload is stopped
// with a reset), never left hanging.
func TestUploadAfterEarlyResponse(t *testing.T) {
	goroutineLeakCheck(t)
	small := Options{Settings: Settings{InitialWindowSize: 65535}, ConnWindowSize: 65535}
	c := memPair(t, &Server{Options: small, Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "413"}}, &RespondOptions{EndStream: true})
	})}, &ClientOptions{Options: small})
	for i := 0; i < 3; i++ {
		st, err := c.Request(ctxT(t), post("/upload"), nil)
		require.NoError(t, err)
		h, err := st.Response(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, "413", h.Get(":status"))
		st.SetDeadline(time.Now().Add(waitLong))
		_, err = st.Write(make([]byte, 1<<20))
		require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the upload stalled")
		if err == nil {
			require.NoError(t, st.CloseWrite())
		}
		select {
		case <-st.Done():
		case <-time.After(waitLong):
			t.Fatal("the stream never closed")
		}
	}
	// The session is healthy afterwards.
	_, err := c.Ping(ctxT(t), [8]byte{})
	require.NoError(t, err)
}
