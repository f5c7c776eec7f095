package h2

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestInformationalCallbackMayUseStream: OnInformational runs without the
// session lock, so it can call the stream's methods (it used to deadlock).
func TestInformationalCallbackMayUseStream(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.SendInformational(Header{{Name: ":status", Value: "103"}})
		_ = st.Respond(Header{{Name: ":status", Value: "204"}}, &RespondOptions{EndStream: true})
	})}
	c := memPair(t, srv, nil)
	opened := make(chan *Stream, 1)
	states := make(chan string, 1)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{
		EndStream: true,
		OnInformational: func(h Header) {
			st := <-opened
			states <- st.State() + " " + h.Get(":status") + " " + st.Session().Protocol()
		},
	})
	require.NoError(t, err)
	opened <- st
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "204", h.Get(":status"))
	require.Equal(t, "half-closed (local) 103 h2c", <-states)
}

// TestRequestHeaderListTooLarge: a request larger than the peer's
// MAX_HEADER_LIST_SIZE fails locally with a clear error instead of being sent.
func TestRequestHeaderListTooLarge(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options: Options{Settings: Settings{MaxHeaderListSize: 1024}}}
	c := memPair(t, srv, nil)
	// Wait for the server's SETTINGS.
	_, err := c.Ping(ctxT(t), [8]byte{})
	require.NoError(t, err)
	require.Equal(t, uint32(1024), c.RemoteSettings().MaxHeaderListSize)
	big := Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}, {Name: "x-big", Value: strings.Repeat("a", 2000)}}
	_, err = c.Request(ctxT(t), big, &RequestOptions{EndStream: true})
	require.ErrorContains(t, err, "MAX_HEADER_LIST_SIZE")
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
}

// TestUploadAfterHandlerReturned: a handler that answers without reading the
// body leaves the client free to finish sending: dropped bytes are credited to
// the stream window too, so the upload does not stall.
func TestUploadAfterHandlerReturned(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options: Options{Settings: Settings{InitialWindowSize: 65535}}}
	c := memPair(t, srv, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	body := make([]byte, 1<<20) // 16 windows' worth
	done := make(chan error, 1)
	go func() {
		_, err := st.Write(body)
		if err == nil {
			err = st.CloseWrite()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctxT(t).Done():
		t.Fatal("upload stalled: the dropped body was not credited to the stream window")
	}
	<-st.Done()
}

// TestUnreadBodyCreditedWhenHandlerReturns: bytes already buffered when the
// handler returns are credited to the stream window, not only the
// connection's, so a client whose window they filled can finish its upload.
func TestUnreadBodyCreditedWhenHandlerReturns(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan struct{})
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		buf := make([]byte, 10)
		_, _ = io.ReadFull(st, buf) // read a little, leave the rest buffered
		<-got                       // until the client filled the stream window
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options: Options{Settings: Settings{InitialWindowSize: 65535}}}
	c := memPair(t, srv, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := st.Write(make([]byte, 1<<20))
		if err == nil {
			err = st.CloseWrite()
		}
		done <- err
	}()
	// Wait until the window is used up: the client's stream window is 0.
	for {
		c.mu.Lock()
		w := st.sendFlow.avail()
		c.mu.Unlock()
		if w <= 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(got)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctxT(t).Done():
		t.Fatal("upload stalled: bytes buffered at handler return were not credited to the stream window")
	}
}

// TestConcurrentLargeWritesStayWhole: two goroutines writing large slices to
// one stream at once: each slice arrives whole (not interleaved) and nothing
// is lost or repeated.
func TestConcurrentLargeWritesStayWhole(t *testing.T) {
	goroutineLeakCheck(t)
	const size = 300 << 10
	got := make(chan []byte, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		b, _ := io.ReadAll(st)
		got <- b
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}
	c := memPair(t, srv, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	errs := make(chan error, 2)
	for _, v := range []byte{'a', 'b'} {
		go func() {
			_, err := st.Write(bytes.Repeat([]byte{v}, size))
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	require.NoError(t, st.CloseWrite())
	b := <-got
	require.Len(t, b, 2*size)
	first := b[0]
	require.Equal(t, bytes.Repeat([]byte{first}, size), b[:size], "the first slice arrived interleaved")
	require.NotEqual(t, first, b[size])
	require.Equal(t, bytes.Repeat([]byte{b[size]}, size), b[size:], "the second slice arrived interleaved")
}

// TestStreamDurationMeasured: a stream that lives a few milliseconds reports
// that duration on both sides, not the zero a per-batch clock would give.
func TestStreamDurationMeasured(t *testing.T) {
	goroutineLeakCheck(t)
	server := make(chan StreamStats, 1)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		time.Sleep(5 * time.Millisecond)
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
		<-st.Done()
		server <- st.Stats()
	})}
	c := memPair(t, srv, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	<-st.Done()
	require.GreaterOrEqual(t, st.Stats().Duration(), 5*time.Millisecond)
	require.GreaterOrEqual(t, (<-server).Duration(), 5*time.Millisecond)
}

// TestPushPromiseParsedThenRefused: a client never enables push, so a
// PUSH_PROMISE is a connection error; it is parsed first, so a truncated one
// is reported as such and a valid one names the promised stream.
func TestPushPromiseParsedThenRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		code    ErrCode
		debug   string
	}{
		{"truncated", []byte{0, 0}, ErrCodeFrameSize, "shorter than its promised stream id"},
		{"valid", []byte{0, 0, 0, 2}, ErrCodeProtocol, "PUSH_PROMISE of stream 2 on stream 1, but push is disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := openClientRequest(t)
			p.mustWrite(appendRaw(nil, FramePushPromise, FlagEndHeaders, 1, tc.payload))
			f := p.expectGoAway(tc.code)
			require.Contains(t, string(f.Payload[8:]), tc.debug)
			p.waitDone()
		})
	}
}

// TestTooManyHeaderFieldsAnswered431: a request with more fields than
// Limits.MaxHeaderListPairs is answered 431 and the session keeps serving.
func TestTooManyHeaderFieldsAnswered431(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options: Options{Limits: Limits{MaxHeaderListPairs: 10}}}
	c := memPair(t, srv, nil)
	get := func(extra int) string {
		h := Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}
		for i := 0; i < extra; i++ {
			h.Add("x-field", strings.Repeat("v", i+1))
		}
		st, err := c.Request(ctxT(t), h, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		resp, err := st.Response(ctxT(t))
		require.NoError(t, err)
		return resp.Get(":status")
	}
	require.Equal(t, "431", get(20))
	require.Equal(t, "200", get(3))
}
