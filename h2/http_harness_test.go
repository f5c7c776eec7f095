package h2

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// What the net/http bridge's tests share: a server for an http.Handler and
// a net/http client speaking HTTP/2 to it (h2c with prior knowledge), so
// that the bridge is checked against Go's own HTTP/2 client.

// logRecorder collects a server's ErrorLog lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logRecorder) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// newHTTPBridge serves h through the bridge on loopback and returns the
// base URL ("http://127.0.0.1:port") and a client for it.
func newHTTPBridge(t testing.TB, h http.Handler) (string, *http.Client, *logRecorder) {
	logs := &logRecorder{}
	addr := newTestServer(t, &Server{HTTP: h, ErrorLog: logs.logf})
	return "http://" + addr, h2cClient(t), logs
}

// h2cClient is net/http's client with only unencrypted HTTP/2 enabled.
func h2cClient(t testing.TB) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// tlsClient is net/http's client over TLS with the given protocols
// ("h2", "http/1.1"), trusting any certificate.
func tlsClient(t testing.TB, http2 bool) *http.Client {
	var p http.Protocols
	cfg := &tls.Config{InsecureSkipVerify: true}
	if http2 {
		p.SetHTTP2(true)
	} else {
		p.SetHTTP1(true)
		cfg.NextProtos = []string{"http/1.1"} // net/http's HTTP/1 client offers no ALPN by itself
	}
	tr := &http.Transport{Protocols: &p, TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
