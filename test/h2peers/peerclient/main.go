package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

// config is what a run needs to know about its peer.
type config struct {
	addr    string
	peer    string // "nghttpd" or "node"
	tls     *tls.Config
	docroot string // nghttpd's htdocs, to compare served files against

	// What the peer advertises, as started by run.sh.
	wantMaxStreams uint32
	wantWindow     uint32

	sessions []*h2.Session   // every session dialed, to abort what a failed check left open
	passed   map[string]bool // tags of the checks that passed
}

func main() {
	var c config
	caFile := flag.String("ca", "", "CA certificate: dial TLS (ALPN h2) and verify the server as localhost")
	flag.StringVar(&c.addr, "addr", "", "server address host:port")
	flag.StringVar(&c.peer, "peer", "", "nghttpd or node")
	flag.StringVar(&c.docroot, "docroot", "", "nghttpd's htdocs directory (peer nghttpd)")
	maxStreams := flag.Uint("max-streams", 100, "SETTINGS_MAX_CONCURRENT_STREAMS the peer advertises")
	window := flag.Uint("window", 1<<20, "SETTINGS_INITIAL_WINDOW_SIZE the peer advertises")
	flag.Parse()
	c.wantMaxStreams, c.wantWindow = uint32(*maxStreams), uint32(*window)
	if c.addr == "" || (c.peer != "nghttpd" && c.peer != "node") {
		fmt.Fprintln(os.Stderr, "usage: peerclient -addr host:port -peer nghttpd|node [-ca FILE] [-docroot DIR]")
		os.Exit(2)
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "peerclient:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "peerclient: no certificate in", *caFile)
			os.Exit(2)
		}
		c.tls = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	}

	// A bound on the whole run: a hung peer or engine must fail, not stall CI.
	time.AfterFunc(60*time.Second, func() {
		fmt.Println("FAIL timeout: the checks did not finish in 60s")
		os.Exit(1)
	})
	failed := false
	c.passed = map[string]bool{}
	baseline := runtime.NumGoroutine()
	for _, ck := range checks(c.peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := ck.run(ctx, &c)
		cancel()
		if err != nil {
			fmt.Printf("FAIL %s: %v\n", ck.name, err)
			failed = true
		} else {
			fmt.Printf("ok %s\n", ck.name)
			c.passed[ck.tag] = true
		}
		for _, s := range c.sessions {
			select {
			case <-s.Done():
			default:
				s.Abort(h2.ErrCodeCancel, errors.New("check failed"))
			}
		}
	}
	// run.sh compares this with the GOAWAY(NO_ERROR) frames the peer logged.
	graceful := 0
	for _, s := range c.sessions {
		<-s.Done()
		if s.Err() == nil {
			graceful++
		}
	}
	fmt.Printf("sessions closed gracefully: %d\n", graceful)

	// Every session has ended: their reader, writer and stream goroutines
	// (and the checks' writers) must all be gone.
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		fmt.Printf("FAIL no-goroutine-leak: %d goroutines, %d before the checks\n%s", n, baseline, buf.String())
		failed = true
	} else {
		fmt.Println("ok no-goroutine-leak")
	}
	if failed {
		os.Exit(1)
	}
}

// dial opens a client session to the peer and waits for its first SETTINGS,
// so RemoteSettings is the peer's and not the RFC's initial values.
func (c *config) dial(ctx context.Context) (*h2.Session, error) {
	got := make(chan struct{}, 1)
	opts := &h2.ClientOptions{TLSConfig: c.tls}
	opts.Hooks.OnRemoteSettings = func(*h2.Session, h2.Settings) {
		select {
		case got <- struct{}{}:
		default:
		}
	}
	sess, err := h2.Dial(ctx, c.addr, opts)
	if err != nil {
		return nil, err
	}
	c.sessions = append(c.sessions, sess)
	select {
	case <-got:
	case <-ctx.Done():
		sess.Abort(h2.ErrCodeCancel, ctx.Err())
		return nil, fmt.Errorf("no SETTINGS from the peer: %w", ctx.Err())
	}
	wantProto := "h2c"
	if c.tls != nil {
		wantProto = "h2"
	}
	if p := sess.Protocol(); p != wantProto || sess.Encrypted() != (c.tls != nil) || !sess.IsClient() {
		sess.Abort(h2.ErrCodeInternal, nil)
		return nil, fmt.Errorf("session protocol %q encrypted=%v client=%v, want %q", p, sess.Encrypted(), sess.IsClient(), wantProto)
	}
	return sess, nil
}
