package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"
)

// Transport is an http.RoundTripper that sends requests over this engine's
// client sessions, so that an http.Client (and anything built on one) speaks
// HTTP/2 through h2:
//
//	client := &http.Client{Transport: &h2.Transport{}}
//	res, err := client.Get("https://example.com/")
//
// Sessions are pooled per authority (scheme, host and port) and shared by
// concurrent requests; concurrent first requests to one authority share one
// dial. https:// URLs use TLS with ALPN "h2"; http:// URLs use h2c with prior
// knowledge when AllowHTTP is set. Request bodies are streamed with flow
// control (never buffered whole), the response body reads straight from the
// stream, and trailers go both ways. A request whose context ends, or whose
// response body is closed before its end, is reset with CANCEL. Requests the
// server did not process (REFUSED_STREAM, or above a GOAWAY's last stream id)
// are retried on another session when their body can be sent again.
//
// Unlike net/http's transport it adds no header of its own: no default
// User-Agent and no Accept-Encoding (so no transparent gzip decoding).
// Connection-specific fields (Connection, Keep-Alive, Transfer-Encoding,
// Upgrade, ...) are dropped on the way out, as HTTP/2 forbids them.
//
// A Transport's fields must not change once it is in use. The zero value is
// ready for https:// URLs.
type Transport struct {
	// TLSClientConfig configures TLS for https:// URLs (nil: the default
	// configuration). The Transport sets NextProtos itself, and ServerName
	// to the URL's host when empty.
	TLSClientConfig *tls.Config
	// AllowHTTP sends http:// URLs over h2c with prior knowledge (RFC 9113
	// §3.3): the HTTP/2 preface right after the TCP handshake, no Upgrade.
	// Without it, http:// URLs go to HTTP1 when set, and fail otherwise.
	AllowHTTP bool
	// DialContext dials the TCP connection; TLS, for https:// URLs, is
	// layered over what it returns. nil uses a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds a dial: TCP, TLS and the server's first SETTINGS
	// (default 30s). A dial is shared by the requests waiting for it, so no
	// one request's context bounds it.
	DialTimeout time.Duration
	// HTTP1, when set, takes the requests that HTTP/2 cannot: those to a TLS
	// server that does not negotiate h2 (ALPN then offers "http/1.1" as well,
	// and the authority is remembered as HTTP/1 until CloseIdleConnections),
	// and http:// URLs when AllowHTTP is not set. Typically an
	// *http.Transport. Without it, a TLS server that does not negotiate h2 is
	// an error matching ErrNotNegotiatedH2.
	HTTP1 http.RoundTripper
	// StrictMaxConcurrentStreams makes requests wait for a free stream slot
	// when every session to the authority has as many streams open as the
	// server's SETTINGS_MAX_CONCURRENT_STREAMS allows, instead of dialing
	// another session (the default, as net/http's transport does).
	StrictMaxConcurrentStreams bool
	// MaxSessionsPerHost, when positive, bounds the sessions to one
	// authority: once reached, requests wait for a slot on one of them.
	MaxSessionsPerHost int
	// IdleConnTimeout, when positive, closes a session that has had no
	// request in flight for that long.
	IdleConnTimeout time.Duration
	// ExpectContinueTimeout is how long a request with "Expect:
	// 100-continue" waits for the server's 100 (or final) response before
	// sending its body anyway. Zero sends the body at once, as net/http does.
	ExpectContinueTimeout time.Duration
	// Options configure each session (settings, windows, keepalive pings
	// with KeepaliveInterval, limits, hooks). Hooks set here are called
	// after the Transport's own.
	Options Options

	pool transportPool
}

var _ http.RoundTripper = (*Transport)(nil)

// ErrNotNegotiatedH2 matches (errors.Is) the error of a request to a TLS
// server that did not choose "h2" in ALPN, when Transport.HTTP1 is not set.
var ErrNotNegotiatedH2 = errors.New("h2: the server did not negotiate h2 in ALPN")

// maxAttempts bounds how often one request is sent to servers that did not
// process it: each retry goes to a session that has not refused it yet, or
// to the same one after REFUSED_STREAM, which a server under load may answer
// several times in a row.
const maxAttempts = 5

// errUseHTTP1 tells RoundTrip that the authority speaks only HTTP/1.
var errUseHTTP1 = errors.New("h2: use HTTP/1")

// RoundTrip sends one request and returns its response once the response
// headers have arrived; the body streams after it (see Transport).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	fail := func(err error) (*http.Response, error) {
		if body != nil {
			_ = body.Close()
		}
		return nil, err
	}
	if req.URL == nil {
		return fail(errors.New("h2: request without a URL"))
	}
	var tlsOn bool
	switch req.URL.Scheme {
	case "https":
		tlsOn = true
	case "http":
		if !t.AllowHTTP {
			if t.HTTP1 != nil {
				return t.HTTP1.RoundTrip(req)
			}
			return fail(fmt.Errorf("h2: http:// URL %s needs Transport.AllowHTTP (h2c) or Transport.HTTP1", req.URL.Redacted()))
		}
	default:
		return fail(fmt.Errorf("h2: unsupported URL scheme %q", req.URL.Scheme))
	}
	if req.URL.Host == "" {
		return fail(errors.New("h2: request URL without a host"))
	}
	hp := t.pool.host(req.URL, tlsOn)
	if hp.http1.Load() && t.HTTP1 != nil {
		return t.HTTP1.RoundTrip(req)
	}
	var rt outRequest
	if err := rt.init(t, req, body); err != nil {
		return fail(err)
	}
	defer rt.release()
	for attempt := 1; ; attempt++ {
		tc, reused, err := t.pool.get(req.Context(), t, hp)
		if errors.Is(err, errUseHTTP1) {
			return rt.viaHTTP1()
		}
		if err != nil {
			return rt.fail(err)
		}
		if rt.trace != nil && rt.trace.GotConn != nil {
			rt.trace.GotConn(httptrace.GotConnInfo{Conn: tc.sess.Conn(), Reused: reused})
		}
		res, err := rt.on(tc)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, ErrUnprocessed) || attempt == maxAttempts || req.Context().Err() != nil {
			return rt.fail(err)
		}
		if err := rt.rewind(); err != nil {
			return rt.fail(err)
		}
	}
}

// CloseIdleConnections closes the sessions that have no request in flight,
// and the HTTP1 transport's idle connections when it has the method.
// http.Client.CloseIdleConnections calls it.
func (t *Transport) CloseIdleConnections() {
	t.pool.closeIdle()
	if c, ok := t.HTTP1.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// requestHeader builds the HTTP/2 header list of req: the pseudo-header
// fields in canonical order (so that the session uses the slice as it is),
// then req.Header without the fields HTTP/2 forbids, then content-length and
// the trailer declaration.
func requestHeader(req *http.Request, tlsOn bool, contentLength int64) (Header, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if method == http.MethodConnect {
		return nil, errors.New("h2: Transport does not send CONNECT requests")
	}
	authority := req.Host
	if authority == "" {
		authority = req.URL.Host
	}
	path := req.URL.RequestURI()
	if req.URL.Opaque == "" && path == "" {
		path = "/"
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	hdr := make(Header, 0, 6+len(req.Header))
	hdr = append(hdr,
		HeaderField{Name: ":method", Value: method},
		HeaderField{Name: ":scheme", Value: scheme},
		HeaderField{Name: ":path", Value: path},
		HeaderField{Name: ":authority", Value: authority})
	if len(req.Header) > 0 {
		hdr = AppendHTTPHeader(hdr, req.Header)
	}
	// :authority carries the host; a Host field (or one a caller set in
	// req.Header) would duplicate it (RFC 9113 §8.3.1), and content-length
	// is ours to state from ContentLength.
	out := hdr[:4]
	for _, f := range hdr[4:] {
		if f.Name != "host" && f.Name != "content-length" && f.Name != "trailer" {
			out = append(out, f)
		}
	}
	hdr = out
	if sendContentLength(method, contentLength) {
		hdr = append(hdr, HeaderField{Name: "content-length", Value: strconv.FormatInt(contentLength, 10)})
	}
	if len(req.Trailer) > 0 {
		names := make([]string, 0, len(req.Trailer))
		for k := range req.Trailer {
			names = append(names, strings.ToLower(k))
		}
		hdr = append(hdr, HeaderField{Name: "trailer", Value: strings.Join(names, ", ")})
	}
	return hdr, nil
}

// sendContentLength reports whether a request states its length: always when
// it is known and positive, and a zero length only for the methods that
// normally carry a body, as net/http does.
func sendContentLength(method string, n int64) bool {
	switch {
	case n > 0:
		return true
	case n < 0:
		return false
	}
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// traceOf returns the request's client trace when it asks about the events
// Transport reports: GotConn, Got100Continue and Got1xxResponse.
func traceOf(req *http.Request) *httptrace.ClientTrace {
	tr := httptrace.ContextClientTrace(req.Context())
	if tr == nil || tr.Got1xxResponse == nil && tr.Got100Continue == nil && tr.GotConn == nil {
		return nil
	}
	return tr
}

// dialTimeout is DialTimeout with its default.
func (t *Transport) dialTimeout() time.Duration {
	if t.DialTimeout > 0 {
		return t.DialTimeout
	}
	return 30 * time.Second
}

// copyBody is io.CopyBuffer into a stream with the body's errors told apart
// from the stream's: a body that fails to read is the caller's problem and
// its error is reported as it is, a stream that fails is the session's.
func copyBody(st *Stream, body io.Reader, buf []byte, limit int64) (n int64, readErr, writeErr error) {
	w := &countingWriter{st: st, limit: limit}
	_, err := io.CopyBuffer(w, body, buf)
	if err != nil && w.err == nil {
		readErr = err
	}
	return w.n, readErr, w.err
}

// countingWriter counts what reaches the stream and refuses bytes beyond a
// declared content length.
type countingWriter struct {
	st    *Stream
	n     int64
	limit int64 // -1: no declared length
	err   error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.limit >= 0 && w.n+int64(len(p)) > w.limit {
		w.err = &tooLongError{limit: w.limit}
		return 0, w.err
	}
	n, err := w.st.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}
