package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

// nodeHello is the body node_server.mjs serves at "/".
const nodeHello = "Hello from the Node http2 peer!\n"

type check struct {
	name string
	tag  string // x-tag of its requests, under which node_server.mjs records the session
	run  func(ctx context.Context, c *config) error
}

func checks(peer string) []check {
	cs := []check{
		{"get-bodies", "go-get", checkGet},
		{"head", "go-head", checkHead},
		{"big-headers-and-request-trailers", "go-big", checkBigHeadersAndTrailers},
		{"reset-then-reuse", "go-reset", checkResetThenReuse},
		{"post-echo-1MiB-trailers", "go-echo", checkEcho},
		{"echo-10MiB-beyond-the-windows", "go-echo10", checkEcho10},
		{"ping", "go-ping", checkPing},
		{"settings", "go-settings", checkSettings},
		{"100-concurrent-streams", "go-concurrent", checkConcurrent},
		{"250-requests-beyond-max-streams", "go-beyond", checkBeyondMaxStreams},
		{"graceful-close", "go-close", checkGracefulClose},
	}
	if peer == "node" {
		cs = append(cs, check{"node-server-initiated-103-reset-ping-settings-goaway", "go-initiated", checkNodeServerInitiated})
		// Last: what the Node server saw of the sessions above.
		cs = append(cs, check{"node-saw-ping-settings-resets-streams-goaway", "go-stats", checkNodeView})
	}
	return cs
}

// result is one complete exchange.
type result struct {
	header, trailers h2.Header
	body             []byte
}

// do sends one request on sess (with a body when body is not nil) and reads
// the whole response. tag names the check in node_server.mjs's /stats.
func do(ctx context.Context, sess *h2.Session, method, path, tag string, body []byte) (*result, error) {
	hdr := h2.Header{{Name: ":method", Value: method}, {Name: ":path", Value: path}, {Name: "x-tag", Value: tag}}
	st, err := sess.Request(ctx, hdr, &h2.RequestOptions{EndStream: body == nil})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		// Write from another goroutine: a peer may echo before it has read
		// everything, and flow control needs both directions moving.
		go func() {
			if _, err := st.Write(body); err == nil {
				_ = st.CloseWrite()
			}
		}()
	}
	return finish(ctx, st)
}

func finish(ctx context.Context, st *h2.Stream) (*result, error) {
	resp, err := st.Response(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %d: response: %w", st.ID(), err)
	}
	b, err := io.ReadAll(st)
	if err != nil {
		return nil, fmt.Errorf("stream %d: body: %w", st.ID(), err)
	}
	if s := resp.Get(":status"); s != "200" {
		return nil, fmt.Errorf("stream %d: :status %q, want 200", st.ID(), s)
	}
	return &result{header: resp, trailers: st.Trailers(), body: b}, nil
}

// wantEcho checks an echoed body and the trailer each peer sends with it.
func wantEcho(peer string, r *result, sent []byte) error {
	if !bytes.Equal(r.body, sent) {
		return fmt.Errorf("echoed %d bytes differ from the %d sent", len(r.body), len(sent))
	}
	return wantTrailer(peer, r, len(sent))
}

func wantTrailer(peer string, r *result, n int) error {
	name, want := "x-peer-trailer", "nghttpd" // nghttpd --trailer, on every response
	if peer == "node" {
		name, want = "x-echo-bytes", strconv.Itoa(n)
	}
	if got := r.trailers.Get(name); got != want {
		return fmt.Errorf("trailer %s = %q, want %q (trailers %v)", name, got, want, r.trailers)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// closeClean closes a session gracefully and requires a clean end.
func closeClean(sess *h2.Session) error {
	if err := sess.Close(); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	if err := sess.Err(); err != nil {
		return fmt.Errorf("session ended with %w", err)
	}
	return nil
}

func checkGet(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	want := map[string][]byte{"/": []byte(nodeHello)}
	if c.peer == "nghttpd" {
		want = map[string][]byte{}
		for _, name := range []string{"index.html", "big.bin"} {
			b, err := os.ReadFile(filepath.Join(c.docroot, name))
			if err != nil {
				return err
			}
			want["/"+name] = b
		}
	}
	for path, body := range want {
		r, err := do(ctx, sess, "GET", path, "go-get", nil)
		if err != nil {
			return err
		}
		if !bytes.Equal(r.body, body) {
			return fmt.Errorf("GET %s: %d bytes differ from the %d expected", path, len(r.body), len(body))
		}
		if cl := r.header.Get("content-length"); cl != strconv.Itoa(len(body)) {
			return fmt.Errorf("GET %s: content-length %q, want %d", path, cl, len(body))
		}
	}
	return closeClean(sess)
}

func checkEcho(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	body := randomBytes(1 << 20)
	r, err := do(ctx, sess, "POST", "/echo", "go-echo", body)
	if err != nil {
		return err
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return err
	}
	return closeClean(sess)
}

// checkEcho10 sends and receives more than every window involved (our 4 MiB
// stream window, the peer's), so both sides must send WINDOW_UPDATEs.
func checkEcho10(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	body := randomBytes(10 << 20)
	r, err := do(ctx, sess, "POST", "/echo", "go-echo10", body)
	if err != nil {
		return err
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return err
	}
	return closeClean(sess)
}

func checkPing(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		rtt, err := sess.Ping(ctx, [8]byte{'h', '2', 'p', 'e', 'e', 'r', 's', byte('0' + i)})
		if err != nil {
			return fmt.Errorf("ping %d: %w", i, err)
		}
		if rtt <= 0 || rtt > 5*time.Second {
			return fmt.Errorf("ping %d: implausible rtt %v", i, rtt)
		}
	}
	if st := sess.Stats(); st.PingsSent < 3 || st.LastPingRTT <= 0 {
		return fmt.Errorf("stats after 3 pings: PingsSent %d, LastPingRTT %v", st.PingsSent, st.LastPingRTT)
	}
	// One request so node_server.mjs can tag this session for its /stats.
	if _, err := do(ctx, sess, "GET", "/", "go-ping", nil); err != nil {
		return err
	}
	return closeClean(sess)
}

func checkSettings(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	rs := sess.RemoteSettings()
	if rs.MaxConcurrentStreams != c.wantMaxStreams || rs.InitialWindowSize != c.wantWindow {
		return fmt.Errorf("RemoteSettings max streams %d, window %d; want %d, %d",
			rs.MaxConcurrentStreams, rs.InitialWindowSize, c.wantMaxStreams, c.wantWindow)
	}
	// A window of one frame: the peer must respect it and we must reopen it
	// with WINDOW_UPDATEs, or the 300 kB echo below stalls or errors.
	if err := sess.UpdateSettings(ctx, h2.Settings{InitialWindowSize: 16384, MaxConcurrentStreams: 50}); err != nil {
		return fmt.Errorf("UpdateSettings (waits for the peer's ack): %w", err)
	}
	ls := sess.LocalSettings()
	if ls.InitialWindowSize != 16384 || ls.MaxConcurrentStreams != 50 || sess.PendingSettingsAck() {
		return fmt.Errorf("after the ack: LocalSettings window %d, max streams %d, pending ack %v",
			ls.InitialWindowSize, ls.MaxConcurrentStreams, sess.PendingSettingsAck())
	}
	body := randomBytes(300_000)
	r, err := do(ctx, sess, "POST", "/echo", "go-settings", body)
	if err != nil {
		return err
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return err
	}
	return closeClean(sess)
}

func checkConcurrent(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	// Open all 100 streams before any request ends, so they are concurrent
	// by construction on both ends.
	const n = 100
	streams := make([]*h2.Stream, n)
	for i := range streams {
		hdr := h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}, {Name: "x-tag", Value: "go-concurrent"}}
		if streams[i], err = sess.Request(ctx, hdr, nil); err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
	}
	if peak := sess.Stats().PeakConcurrentStreams; peak != n {
		return fmt.Errorf("PeakConcurrentStreams %d after opening %d streams", peak, n)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte(i)}, 16_000+i)
			go func() {
				if _, err := st.Write(body); err == nil {
					_ = st.CloseWrite()
				}
			}()
			r, err := finish(ctx, st)
			if err == nil {
				err = wantEcho(c.peer, r, body)
			}
			if err != nil {
				errs[i] = fmt.Errorf("stream %d of %d: %w", i, n, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return closeClean(sess)
}

func checkGracefulClose(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	hdr := h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}, {Name: "x-tag", Value: "go-close"}}
	st, err := sess.Request(ctx, hdr, nil)
	if err != nil {
		return err
	}
	body := randomBytes(200_000)
	if _, err := st.Write(body[:100_000]); err != nil {
		return err
	}
	closed := make(chan error, 1)
	go func() { closed <- sess.Close() }()

	// While the stream is in flight the session must stay up but refuse new streams.
	time.Sleep(200 * time.Millisecond)
	select {
	case <-sess.Done():
		return errors.New("session ended while a stream was in flight")
	default:
	}
	if sess.CanRequest() {
		return errors.New("CanRequest is true after Close")
	}
	if _, err := sess.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &h2.RequestOptions{EndStream: true}); err == nil {
		return errors.New("Request succeeded after Close")
	}

	go func() {
		if _, err := st.Write(body[100_000:]); err == nil {
			_ = st.CloseWrite()
		}
	}()
	r, err := finish(ctx, st)
	if err != nil {
		return fmt.Errorf("stream in flight during Close: %w", err)
	}
	if err := wantEcho(c.peer, r, body); err != nil {
		return err
	}
	select {
	case err := <-closed:
		if err != nil {
			return fmt.Errorf("Close: %w", err)
		}
	case <-time.After(5 * time.Second):
		return errors.New("Close did not return within 5s of the last stream ending")
	}
	select {
	case <-sess.Done():
	default:
		return errors.New("Done not closed after Close returned")
	}
	if err := sess.Err(); err != nil {
		return fmt.Errorf("session ended with %w", err)
	}
	return nil
}

// nodeSession is node_server.mjs's record of one client session.
type nodeSession struct {
	Goaways []struct {
		Code         int `json:"code"`
		LastStreamID int `json:"lastStreamID"`
	} `json:"goaways"`
	Pings          int `json:"pings"`
	RemoteSettings struct {
		MaxConcurrentStreams uint32 `json:"maxConcurrentStreams"`
		InitialWindowSize    uint32 `json:"initialWindowSize"`
		EnablePush           bool   `json:"enablePush"`
	} `json:"remoteSettings"`
	PeakStreams int   `json:"peakStreams"`
	Resets      []int `json:"resets"`
	Closed      bool  `json:"closed"`
}

func checkNodeView(ctx context.Context, c *config) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	r, err := do(ctx, sess, "GET", "/stats", "go-stats", nil)
	if err != nil {
		return err
	}
	var seen map[string]nodeSession
	if err := json.Unmarshal(r.body, &seen); err != nil {
		return fmt.Errorf("/stats: %w", err)
	}
	// Only sessions of checks that passed: a failed check's session is
	// aborted, and its failure is already reported.
	for tag := range c.passed {
		if tag == "go-initiated" {
			continue // node ended that session with its own GOAWAY
		}
		s, ok := seen[tag]
		if !ok {
			return fmt.Errorf("node saw no session tagged %s", tag)
		}
		// Every session above ended with a graceful Close: GOAWAY(NO_ERROR).
		if len(s.Goaways) == 0 || s.Goaways[0].Code != 0 || !s.Closed {
			return fmt.Errorf("%s: node saw goaways %+v, closed %v; want GOAWAY(NO_ERROR) and a close", tag, s.Goaways, s.Closed)
		}
	}
	if p := seen["go-ping"]; c.passed["go-ping"] && p.Pings < 3 {
		return fmt.Errorf("node saw %d pings, want >= 3", p.Pings)
	}
	if rs := seen["go-ping"].RemoteSettings; c.passed["go-ping"] && rs.MaxConcurrentStreams != 100 || rs.InitialWindowSize != 4<<20 || rs.EnablePush {
		return fmt.Errorf("node saw our settings as %+v; want max streams 100, window 4 MiB, push off", rs)
	}
	if rs := seen["go-settings"].RemoteSettings; c.passed["go-settings"] && rs.MaxConcurrentStreams != 50 || rs.InitialWindowSize != 16384 {
		return fmt.Errorf("node saw our updated settings as %+v; want max streams 50, window 16384", rs)
	}
	if r := seen["go-reset"].Resets; c.passed["go-reset"] && len(r) != 1 || r[0] != int(h2.ErrCodeCancel) {
		return fmt.Errorf("node saw resets %v on the reset check's session, want one CANCEL (8)", r)
	}
	if p := seen["go-beyond"].PeakStreams; c.passed["go-beyond"] && p > 100 {
		return fmt.Errorf("node saw a peak of %d concurrent streams while it allows 100", p)
	}
	if p := seen["go-concurrent"].PeakStreams; c.passed["go-concurrent"] && p != 100 {
		return fmt.Errorf("node saw a peak of %d concurrent streams, want 100", p)
	}
	return closeClean(sess)
}
