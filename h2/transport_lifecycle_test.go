package h2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// resetSeen serves streams that wait for the client to go away, and reports
// the reset code each one saw.
func resetSeen(respondFirst bool) (Handler, <-chan ErrCode, <-chan struct{}) {
	codes := make(chan ErrCode, 4)
	entered := make(chan struct{}, 4)
	h := HandlerFunc(func(st *Stream) {
		if respondFirst {
			_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
			_, _ = st.Write([]byte("first chunk"))
		}
		entered <- struct{}{}
		<-st.Context().Done()
		code, _ := st.ResetCode()
		codes <- code
	})
	return h, codes, entered
}

func TestTransportContextCanceledBeforeResponse(t *testing.T) {
	goroutineLeakCheck(t)
	h, codes, entered := resetSeen(false)
	base, tr := transportServer(t, h, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req := mustRequest(t, "GET", base+"/", nil).WithContext(ctx)
	go func() {
		<-entered
		cancel()
	}()
	_, err := tr.RoundTrip(req)
	require.Equal(t, context.Canceled, err, "the context's own error")
	require.Equal(t, ErrCodeCancel, <-codes)

	// A deadline that passes once the handler has the request: a 50 ms
	// timer could pass first on a loaded machine, and a request whose
	// context ended before its HEADERS left never reaches the handler.
	passed := make(chan struct{})
	go func() {
		<-entered
		close(passed)
	}()
	_, err = tr.RoundTrip(mustRequest(t, "GET", base+"/", nil).WithContext(deadlinePassing{context.Background(), passed}))
	require.Equal(t, context.DeadlineExceeded, err)
	require.Equal(t, ErrCodeCancel, <-codes)
}

// deadlinePassing is a context whose deadline passes when passed closes.
type deadlinePassing struct {
	context.Context
	passed <-chan struct{}
}

func (c deadlinePassing) Done() <-chan struct{} { return c.passed }

func (c deadlinePassing) Err() error {
	select {
	case <-c.passed:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func TestTransportContextCanceledDuringBody(t *testing.T) {
	goroutineLeakCheck(t)
	h, codes, entered := resetSeen(true)
	base, tr := transportServer(t, h, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil).WithContext(ctx))
	require.NoError(t, err)
	<-entered
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(res.Body, buf, len("first chunk"))
	require.NoError(t, err)
	require.Equal(t, "first chunk", string(buf[:n]))
	cancel()
	_, err = io.ReadAll(res.Body)
	require.Equal(t, context.Canceled, err)
	require.Equal(t, ErrCodeCancel, <-codes)
	require.NoError(t, res.Body.Close())
}

// TestTransportCanceledBodyDeliversNothing: a body that had fully arrived
// when its context was canceled is not delivered either, as with net/http.
func TestTransportCanceledBodyDeliversNothing(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, echoHeaders, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := tr.RoundTrip(mustRequest(t, "POST", base+"/", strings.NewReader("all of it")).WithContext(ctx))
	require.NoError(t, err)
	st := res.Body.(*responseBody).ex.st
	require.Eventually(t, st.InboundEnded, waitLong, time.Millisecond, "the whole body arrives")
	cancel()
	_, err = io.ReadAll(res.Body)
	require.Equal(t, context.Canceled, err)
	require.NoError(t, res.Body.Close())
}

func TestTransportBodyCloseBeforeEOFCancels(t *testing.T) {
	goroutineLeakCheck(t)
	h, codes, entered := resetSeen(true)
	base, tr := transportServer(t, h, false, nil)
	res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil))
	require.NoError(t, err)
	<-entered
	require.NoError(t, res.Body.Close())
	require.Equal(t, ErrCodeCancel, <-codes)
	_, err = res.Body.Read(make([]byte, 1))
	require.ErrorContains(t, err, "read on closed response body")
}

// refuseFirst resets the first attempt of every path with REFUSED_STREAM
// (which promises the request was not processed) and echoes the body of the
// next.
func refuseFirst() (Handler, *sync.Map) {
	var attempts sync.Map
	return HandlerFunc(func(st *Stream) {
		n, _ := attempts.LoadOrStore(st.Path(), new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 {
			st.Reset(ErrCodeRefusedStream)
			return
		}
		body, _ := io.ReadAll(st)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{Body: body})
	}), &attempts
}

func TestTransportRetriesUnprocessed(t *testing.T) {
	goroutineLeakCheck(t)
	h, attempts := refuseFirst()
	base, tr := transportServer(t, h, false, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	for _, tc := range []struct {
		path string
		body func() io.Reader
	}{
		{"/nobody", func() io.Reader { return nil }},
		{"/small", func() io.Reader { return strings.NewReader("small body") }}, // read ahead, sent again as is
		{"/big", func() io.Reader { return bytes.NewReader(big) }},              // streamed, then GetBody
	} {
		var want []byte
		if b := tc.body(); b != nil {
			want, _ = io.ReadAll(b)
		}
		res, err := tr.RoundTrip(mustRequest(t, "POST", base+tc.path, tc.body()))
		require.NoError(t, err, tc.path)
		got, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, len(want), len(got), tc.path)
		require.True(t, bytes.Equal(want, got), tc.path)
		n, _ := attempts.Load(tc.path)
		require.EqualValues(t, 2, n.(*atomic.Int32).Load(), tc.path)
	}

	// A body that was read and cannot be produced again is not retried.
	req := mustRequest(t, "POST", base+"/once", io.NopCloser(bytes.NewReader(big)))
	_, err := tr.RoundTrip(req)
	require.ErrorIs(t, err, ErrUnprocessed)
	require.ErrorContains(t, err, "GetBody")
}

// TestTransportGoAwayRetriesOnNewSession plays the server with raw frames:
// two requests are in flight when GOAWAY says only the first was processed.
// The second is sent again on a new session, and the first still completes.
func TestTransportGoAwayRetriesOnNewSession(t *testing.T) {
	goroutineLeakCheck(t)
	peers := make(chan *peer, 2)
	tr := &Transport{AllowHTTP: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, s := net.Pipe()
		peers <- newPeer(t, s)
		return c, nil
	}}
	defer tr.CloseIdleConnections()
	results := make(chan error, 2)
	get := func(path string) {
		res, err := tr.RoundTrip(mustRequest(t, "GET", "http://test.invalid"+path, nil))
		if err == nil {
			var body []byte
			body, err = io.ReadAll(res.Body)
			_ = res.Body.Close()
			if err == nil && string(body) != path {
				err = errors.New("wrong body " + string(body))
			}
		}
		results <- err
	}
	nextPeer := func() *peer {
		select {
		case p := <-peers:
			return p
		case <-time.After(waitLong):
			t.Fatal("no dial")
		}
		return nil
	}
	go get("/a")
	p1 := nextPeer()
	p1.serverHandshake()
	first := p1.expectHeaders(1)
	go get("/b")
	second := p1.expectHeaders(3)
	require.Equal(t, "/a", first.Fields.Get(":path"))
	require.Equal(t, "/b", second.Fields.Get(":path"))

	p1.mustWrite(appendGoAway(nil, 1, ErrCodeNo, nil))
	p1.mustWrite(appendHeaders(nil, 1, false, true, nil, p1.encode(":status", "200")))
	p1.mustWrite(appendData(nil, 1, true, []byte("/a")))

	p2 := nextPeer()
	p2.serverHandshake()
	retried := p2.expectHeaders(1)
	require.Equal(t, "/b", retried.Fields.Get(":path"))
	p2.mustWrite(appendHeaders(nil, 1, false, true, nil, p2.encode(":status", "200")))
	p2.mustWrite(appendData(nil, 1, true, []byte("/b")))
	require.NoError(t, <-results)
	require.NoError(t, <-results)
	require.Empty(t, peers, "two sessions in all")
}

// TestTransportLeavesSessionAfterGoAway: once a server said GOAWAY, new
// requests go to a new session although the old one still serves its streams.
func TestTransportLeavesSessionAfterGoAway(t *testing.T) {
	goroutineLeakCheck(t)
	var sessions atomic.Int32
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		if st.Path() == "/goaway" {
			_ = st.Session().GoAway(ErrCodeNo, []byte("moving on"))
		}
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{EndStream: true})
	}), false, func(s *Server) { s.OnSession = func(*Session) { sessions.Add(1) } })
	for _, path := range []string{"/goaway", "/next", "/again"} {
		res, err := tr.RoundTrip(mustRequest(t, "GET", base+path, nil))
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
	}
	require.EqualValues(t, 2, sessions.Load())
}

// blockingServer serves each stream once the test releases it, and records
// how many sessions there were and how many streams ran at once at most.
type blockingServer struct {
	sessions, running, peak atomic.Int32
	entered                 chan struct{}
	release                 chan struct{}
}

func (b *blockingServer) handler() Handler {
	return HandlerFunc(func(st *Stream) {
		n := b.running.Add(1)
		for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
		}
		b.entered <- struct{}{}
		<-b.release
		b.running.Add(-1)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{EndStream: true})
	})
}

func TestTransportMaxConcurrentStreams(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(*Transport)
		sessions int32
	}{
		{"another session", func(*Transport) {}, 2},
		{"strict", func(tr *Transport) { tr.StrictMaxConcurrentStreams = true }, 1},
		{"max sessions per host", func(tr *Transport) { tr.MaxSessionsPerHost = 1 }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goroutineLeakCheck(t)
			b := &blockingServer{entered: make(chan struct{}, 2), release: make(chan struct{})}
			base, tr := transportServer(t, b.handler(), false, func(s *Server) {
				s.Options.Settings.MaxConcurrentStreams = 1
				s.OnSession = func(*Session) { b.sessions.Add(1) }
			})
			tc.setup(tr)
			// The first request settles the session (and learns the limit).
			errs := make(chan error, 2)
			get := func() {
				res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil))
				if err == nil {
					err = res.Body.Close()
				}
				errs <- err
			}
			go get()
			<-b.entered
			go get()
			if tc.sessions == 2 {
				<-b.entered // both run at once, on two sessions
				close(b.release)
			} else {
				b.release <- struct{}{} // the second can only start after the first
				<-b.entered
				b.release <- struct{}{}
			}
			require.NoError(t, <-errs)
			require.NoError(t, <-errs)
			require.Equal(t, tc.sessions, b.sessions.Load())
			require.Equal(t, tc.sessions, b.peak.Load())
		})
	}
}

// TestTransportDialsOnceForAFullSession: a server that allows no stream at
// all gets one dial from a request, which then waits for a slot (here until
// its deadline) instead of dialing again and again.
func TestTransportDialsOnceForAFullSession(t *testing.T) {
	goroutineLeakCheck(t)
	var dials atomic.Int32
	var wg sync.WaitGroup
	defer wg.Wait()
	tr := &Transport{AllowHTTP: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		c, s := net.Pipe()
		p := newPeer(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serverHandshake(Setting{SettingMaxConcurrentStreams, 0})
		}()
		return c, nil
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := tr.RoundTrip(mustRequest(t, "GET", "http://test.invalid/", nil).WithContext(ctx))
	require.Equal(t, context.DeadlineExceeded, err)
	require.EqualValues(t, 1, dials.Load())
}

func TestTransportInformationalThroughTrace(t *testing.T) {
	goroutineLeakCheck(t)
	codes := make(chan ErrCode, 1)
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		_ = st.SendInformational(Header{{Name: ":status", Value: "103"}, {Name: "link", Value: "</style.css>; rel=preload"}})
		if st.Path() == "/refused" {
			<-st.Context().Done()
			code, _ := st.ResetCode()
			codes <- code
			return
		}
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{EndStream: true})
	}), false, nil)
	var mu sync.Mutex
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, h.Get("Link"))
		if code != 103 {
			return errors.New("unexpected code")
		}
		return nil
	}}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil).WithContext(ctx))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	mu.Lock()
	require.Equal(t, []string{"</style.css>; rel=preload"}, got)
	mu.Unlock()

	// A Got1xxResponse that fails ends the request with its error.
	stop := errors.New("no early hints, thanks")
	trace = &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { return stop }}
	ctx = httptrace.WithClientTrace(context.Background(), trace)
	_, err = tr.RoundTrip(mustRequest(t, "GET", base+"/refused", nil).WithContext(ctx))
	require.ErrorIs(t, err, stop)
	require.Equal(t, ErrCodeCancel, <-codes)
}

// countingBody counts the reads of a request body.
type countingBody struct {
	r     io.Reader
	reads atomic.Int32
}

func (b *countingBody) Read(p []byte) (int, error) { b.reads.Add(1); return b.r.Read(p) }
func (b *countingBody) Close() error               { return nil }

func TestTransportExpectContinue(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		switch st.Path() {
		case "/continue":
			_ = st.SendInformational(Header{{Name: ":status", Value: "100"}})
		case "/refuse":
			_ = st.Respond(Header{{Name: ":status", Value: "417"}}, &RespondOptions{EndStream: true})
			return
		case "/silent": // reads without a 100: the client's timeout sends the body
		}
		body, _ := io.ReadAll(st)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{Body: body})
	}), false, nil)
	send := func(path string, timeout time.Duration) (*http.Response, *countingBody, bool) {
		tr.ExpectContinueTimeout = timeout
		body := &countingBody{r: strings.NewReader("the body")}
		req := mustRequest(t, "PUT", base+path, body)
		req.ContentLength = int64(len("the body"))
		req.Header.Set("Expect", "100-continue")
		var got100 atomic.Bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }})
		res, err := tr.RoundTrip(req.WithContext(ctx))
		require.NoError(t, err)
		return res, body, got100.Load()
	}
	res, _, got100 := send("/continue", time.Hour)
	b, _ := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "the body", string(b))
	require.True(t, got100)

	res, body, _ := send("/refuse", time.Hour)
	require.Equal(t, 417, res.StatusCode)
	_, _ = io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.Zero(t, body.reads.Load(), "the body is not sent when the server answers first")

	res, _, _ = send("/silent", 10*time.Millisecond)
	b, _ = io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "the body", string(b))
}

func TestTransportIdleSessions(t *testing.T) {
	goroutineLeakCheck(t)
	sessions := make(chan *Session, 4)
	pings := make(chan struct{}, 1)
	base, tr := transportServer(t, echoHeaders, false, func(s *Server) {
		s.OnSession = func(sess *Session) { sessions <- sess }
		s.Options.Hooks.OnPing = func(*Session, [8]byte) {
			select {
			case pings <- struct{}{}:
			default:
			}
		}
	})
	get := func() *http.Response {
		res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil))
		require.NoError(t, err)
		return res
	}
	waitEnded := func(s *Session, why string) {
		select {
		case <-s.Done():
		case <-time.After(waitLong):
			t.Fatal(why)
		}
	}

	// CloseIdleConnections closes idle sessions and leaves busy ones.
	busy := get()
	s1 := <-sessions
	tr.CloseIdleConnections()
	_, err := io.ReadAll(busy.Body)
	require.NoError(t, err, "a session in use is not idle")
	require.NoError(t, busy.Body.Close())
	tr.CloseIdleConnections()
	waitEnded(s1, "CloseIdleConnections left an idle session open")

	// IdleConnTimeout closes a session nobody uses.
	tr.IdleConnTimeout = 20 * time.Millisecond
	require.NoError(t, get().Body.Close())
	waitEnded(<-sessions, "the idle session was not closed after IdleConnTimeout")
	tr.IdleConnTimeout = 0

	// Keepalive pings are the session Options' own.
	tr.Options.KeepaliveInterval = 10 * time.Millisecond
	require.NoError(t, get().Body.Close())
	<-sessions
	select {
	case <-pings:
	case <-time.After(waitLong):
		t.Fatal("no keepalive ping")
	}
}

// TestTransportConcurrentMix runs many kinds of exchange at once on shared
// sessions (a small stream limit forces a second session and waits), under
// the race detector: bodiless, read-ahead and streamed bodies, HEAD, early
// Close and cancellation. Every session and goroutine must end.
func TestTransportConcurrentMix(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, echoHeaders, false, func(s *Server) { s.Options.Settings.MaxConcurrentStreams = 8 })
	tr.MaxSessionsPerHost = 2
	big := bytes.Repeat([]byte("z"), 100<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 32*12)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				errs <- mixedExchange(tr, base, (g+i)%6, big)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func mixedExchange(tr *Transport, base string, kind int, big []byte) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var req *http.Request
	var want []byte
	switch kind {
	case 0, 4, 5:
		req, _ = http.NewRequestWithContext(ctx, "GET", base+"/", nil)
	case 1:
		want = []byte("read ahead")
		req, _ = http.NewRequestWithContext(ctx, "POST", base+"/", bytes.NewReader(want))
	case 2:
		want = big
		req, _ = http.NewRequestWithContext(ctx, "PUT", base+"/", io.NopCloser(bytes.NewReader(big)))
	case 3:
		req, _ = http.NewRequestWithContext(ctx, "HEAD", base+"/", nil)
	}
	res, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	switch kind {
	case 4:
		return res.Body.Close() // before reading: a reset, or nothing once it ended
	case 5:
		cancel()
		if _, err := io.ReadAll(res.Body); err != context.Canceled {
			return errors.New("read after cancel: " + fmt.Sprint(err))
		}
		return res.Body.Close()
	}
	got, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("kind %d: %d bytes back, want %d", kind, len(got), len(want))
	}
	return res.Body.Close()
}

// TestTransportEarlyResponseAbandonsBody: a server that answers without
// reading the request body ends the exchange; once the response is read,
// the body still being sent is closed and the stream reset, so neither the
// writer goroutine nor the session's stream slot is left behind.
func TestTransportEarlyResponseAbandonsBody(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "413"}}, &RespondOptions{Body: []byte("too much")})
	}), false, nil)
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte("the start of an endless upload")) }()
	res, err := tr.RoundTrip(mustRequest(t, "POST", base+"/", pr))
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "too much", string(body))
	_, err = pw.Write([]byte("more"))
	require.ErrorIs(t, err, io.ErrClosedPipe, "the request body was closed")
	require.NoError(t, res.Body.Close())
}
