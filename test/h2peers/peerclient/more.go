package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/h2rpc/h2rpc/h2"
)

// checkHead: a HEAD response has the headers of a GET and no body.
func checkHead(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	path, want := "/", len(nodeHello)
	if c.peer == "nghttpd" {
		fi, err := os.Stat(filepath.Join(c.docroot, "index.html"))
		if err != nil {
			return err
		}
		path, want = "/index.html", int(fi.Size())
	}
	r, err := do(ctx, sess, "HEAD", path, "go-head", nil)
	if err != nil {
		return err
	}
	if cl := r.header.Get("content-length"); cl != strconv.Itoa(want) || len(r.body) != 0 {
		return fmt.Errorf("HEAD %s: content-length %q (want %d), %d body bytes (want 0)", path, cl, want, len(r.body))
	}
	return closeClean(sess)
}

// checkBigHeadersAndTrailers sends a header block larger than one frame
// (HEADERS plus CONTINUATION from our encoder) and request trailers, and
// from Node reads a response header block larger than one frame.
func checkBigHeadersAndTrailers(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	big := strings.Repeat("b", 20_000)
	path := "/"
	if c.peer == "nghttpd" {
		path = "/index.html"
	}
	hdr := h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: path}, {Name: "x-tag", Value: "go-big"}, {Name: "x-big", Value: big}}
	st, err := sess.Request(ctx, hdr, &h2.RequestOptions{EndStream: true})
	if err != nil {
		return err
	}
	r, err := finish(ctx, st)
	if err != nil {
		return fmt.Errorf("GET with a 20 kB header: %w", err)
	}
	if c.peer == "node" {
		if got := r.header.Get("x-big-len"); got != "20000" {
			return fmt.Errorf("node saw x-big of length %q, want 20000", got)
		}
		if got := r.header.Get("x-big-back"); got != big+big {
			return fmt.Errorf("x-big-back: %d bytes, want the 40000 sent doubled", len(got))
		}
	}

	// Request trailers after a body: Node reports them back in its trailers;
	// nghttpd logs them (run.sh checks its log).
	hdr = h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}, {Name: "x-tag", Value: "go-big"}}
	if st, err = sess.Request(ctx, hdr, nil); err != nil {
		return err
	}
	body := randomBytes(50_000)
	st.SetTrailers(h2.Header{{Name: "x-request-trailer", Value: "yes"}})
	go func() {
		if _, err := st.Write(body); err == nil {
			_ = st.CloseWrite()
		}
	}()
	if r, err = finish(ctx, st); err != nil {
		return err
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return err
	}
	if got := r.trailers.Get("x-request-trailer-seen"); c.peer == "node" && got != "yes" {
		return fmt.Errorf("node saw request trailer x-request-trailer = %q, want \"yes\"", got)
	}
	return closeClean(sess)
}

// checkResetThenReuse cancels a stream mid-body; the session must carry on.
func checkResetThenReuse(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	hdr := h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}, {Name: "x-tag", Value: "go-reset"}}
	st, err := sess.Request(ctx, hdr, nil)
	if err != nil {
		return err
	}
	if _, err := st.Write(randomBytes(10_000)); err != nil {
		return err
	}
	// Make sure the peer has seen the stream before it is reset: a stream
	// reset before its HEADERS left may legally never reach the wire.
	if c.peer == "node" {
		if _, err := st.Response(ctx); err != nil { // node_server.mjs answers /echo at once
			return err
		}
	}
	if _, err := sess.Ping(ctx, [8]byte{}); err != nil {
		return err
	}
	st.Reset(h2.ErrCodeCancel)
	if code, ok := st.ResetCode(); !ok || code != h2.ErrCodeCancel {
		return fmt.Errorf("ResetCode after Reset(CANCEL): %v, %v", code, ok)
	}
	if _, err := io.ReadAll(st); err == nil {
		return errors.New("Read after Reset returned no error")
	} else if se := (*h2.StreamError)(nil); !errors.As(err, &se) || se.Code != h2.ErrCodeCancel {
		return fmt.Errorf("Read after Reset: %v, want a StreamError with CANCEL", err)
	}
	body := randomBytes(30_000)
	r, err := do(ctx, sess, "POST", "/echo", "go-reset", body)
	if err != nil {
		return fmt.Errorf("echo after a reset on the same session: %w", err)
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return err
	}
	if !bytes.Equal(r.body, body) {
		return errors.New("echo after reset differs")
	}
	return closeClean(sess)
}

// checkBeyondMaxStreams runs 250 requests at once against a peer that allows
// 100 concurrent streams: Request must wait for a free slot, never exceed the
// peer's limit (which the peer would refuse), and every request must succeed.
func checkBeyondMaxStreams(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	const n = 250
	path := "/"
	if c.peer == "nghttpd" {
		path = "/index.html"
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := do(ctx, sess, "GET", path, "go-beyond", nil)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			return fmt.Errorf("one of %d requests: %w", n, err)
		}
	}
	if peak := sess.Stats().PeakConcurrentStreams; peak > int(c.wantMaxStreams) {
		return fmt.Errorf("PeakConcurrentStreams %d exceeds the peer's limit %d", peak, c.wantMaxStreams)
	}
	if opened := sess.Stats().StreamsOpened; opened != n {
		return fmt.Errorf("StreamsOpened %d, want %d", opened, n)
	}
	return closeClean(sess)
}

// checkNodeServerInitiated: what the Node server starts itself, toward our
// client: a 103 before the response, a reset mid-body, a PING, a SETTINGS
// update and finally a GOAWAY.
func checkNodeServerInitiated(ctx context.Context, c *config) error {
	var mu sync.Mutex
	var pings [][8]byte
	var goaways []string
	var settings []h2.Settings
	opts := &h2.ClientOptions{TLSConfig: c.tls}
	opts.Hooks.OnPing = func(_ *h2.Session, p [8]byte) { mu.Lock(); pings = append(pings, p); mu.Unlock() }
	opts.Hooks.OnRemoteSettings = func(_ *h2.Session, s h2.Settings) { mu.Lock(); settings = append(settings, s); mu.Unlock() }
	opts.Hooks.OnGoAway = func(_ *h2.Session, code h2.ErrCode, last uint32, debug []byte) {
		mu.Lock()
		goaways = append(goaways, fmt.Sprintf("%v/%d/%s", code, last, debug))
		mu.Unlock()
	}
	sess, err := h2.Dial(ctx, c.addr, opts)
	if err != nil {
		return err
	}
	c.sessions = append(c.sessions, sess)
	get := func(path string) (*h2.Stream, error) {
		return sess.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: path}, {Name: "x-tag", Value: "go-initiated"}}, &h2.RequestOptions{EndStream: true})
	}

	st, err := get("/early-hints")
	if err != nil {
		return err
	}
	r, err := finish(ctx, st)
	if err != nil {
		return err
	}
	if info := st.Informational(); len(info) != 1 || info[0].Get(":status") != "103" || info[0].Get("link") != "</style.css>; rel=preload" || string(r.body) != "hinted\n" {
		return fmt.Errorf("early hints: informational %v, body %q", info, r.body)
	}

	if st, err = get("/reset"); err != nil {
		return err
	}
	var se *h2.StreamError
	if _, err := finish(ctx, st); !errors.As(err, &se) || se.Code != h2.ErrCodeInternal || !se.Remote {
		return fmt.Errorf("stream reset by node: got %v, want a remote StreamError with INTERNAL_ERROR", err)
	}

	if st, err = get("/ping-client"); err != nil {
		return err
	}
	if r, err = finish(ctx, st); err != nil {
		return err
	}
	mu.Lock()
	gotPing := len(pings) == 1 && string(pings[0][:]) == "nodeping"
	mu.Unlock()
	if p := r.header.Get("x-ping-payload"); p != "nodeping" || !gotPing {
		return fmt.Errorf("node's ping: acked payload %q, OnPing saw %q", p, pings)
	}

	if st, err = get("/settings-client"); err != nil {
		return err
	}
	if _, err = finish(ctx, st); err != nil {
		return err
	}
	rs := sess.RemoteSettings()
	mu.Lock()
	last := settings[len(settings)-1]
	mu.Unlock()
	if rs.MaxConcurrentStreams != 10 || rs.InitialWindowSize != 32768 || !last.Equal(rs) {
		return fmt.Errorf("after node's SETTINGS: RemoteSettings %+v, last OnRemoteSettings %+v", rs, last)
	}
	// The smaller window now applies to what we send: a 200 kB echo must still work.
	body := randomBytes(200_000)
	if r, err = do(ctx, sess, "POST", "/echo", "go-initiated", body); err != nil {
		return err
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return fmt.Errorf("echo under node's 32 kB window: %w", err)
	}

	if st, err = get("/goaway"); err != nil {
		return err
	}
	if _, err = finish(ctx, st); err != nil {
		return err
	}
	select {
	case <-sess.Done():
	case <-ctx.Done():
		return errors.New("session still open after node's GOAWAY with no stream left")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := fmt.Sprintf("%v/%d/bye", h2.ErrCodeNo, st.ID()); len(goaways) != 1 || goaways[0] != want {
		return fmt.Errorf("OnGoAway saw %q, want [%s]", goaways, want)
	}
	if _, err := get("/"); !errors.Is(err, h2.ErrUnprocessed) && !errors.Is(err, h2.ErrSessionClosed) {
		return fmt.Errorf("request after GOAWAY: %v, want ErrUnprocessed or ErrSessionClosed", err)
	}
	return nil
}
