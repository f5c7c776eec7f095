package rpc

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
)

// ServeHTTP serves one call over net/http, so that a Server mounts beside
// other routes on any mux and any net/http server: HTTP/1.1 (plain or TLS),
// h2c and HTTP/2 over TLS. The request's content-type picks the protocol:
// gRPC (HTTP/2 only: it needs trailers), gRPC-Web or Connect; the paths are
// "/package.Service/Method", so mount it at the root or under
// http.StripPrefix. Serve (our own engine) stays the faster path for gRPC.
//
// Options that belong to the connection (TLS, keepalive, windows, stream
// limits) are net/http's there; the call options (interceptors, limits,
// compression, stats, CORS) apply as with Serve.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.servingHTTP.Load() {
		s.markStarted()
		s.servingHTTP.Store(true)
	}
	if s.opts.cors != nil && s.opts.cors.handle(w, r) {
		return
	}
	p, ce, refuse := protocolFor(r.Method, r.Header.Get("Content-Type"))
	if refuse != 0 {
		if refuse == 405 {
			w.Header().Set("Allow", "POST")
		}
		w.WriteHeader(refuse)
		return
	}
	t := &httpTransport{w: w, r: r, rc: http.NewResponseController(w), http1: r.ProtoMajor < 2}
	t.req.r = r.Body
	t.body = ioFramedReader{r: &t.req}
	if t.http1 {
		if p == protoGRPC {
			// gRPC ends every response with trailers, which HTTP/1.1
			// clients and proxies drop: refuse as connect-go does.
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
			return
		}
		// Streams read the request while the response is going out (a
		// half-duplex bidi stream over HTTP/1.1 too, where the client sends
		// everything first): by default net/http consumes what is left of
		// the request when the response begins, and a later read of the
		// body races its own. Full-duplex mode lets the call read on.
		_ = t.rc.EnableFullDuplex()
	}
	ss := &serverStream{srv: s, tr: t, proto: p, codec: ce}
	ss.er = envelopeReader{r: t, maxSize: s.opts.maxRecv}
	s.serveCall(ss, httpRequestHeader(r))
	if t.http1 {
		t.finishBody()
	}
}

// finishBody ends an HTTP/1.1 request body before the handler returns. In
// full-duplex mode net/http leaves that to the handler: a body it finishes
// itself, after the handler returned, starts its read-ahead of the
// connection at the body's end, which then races the read of the next
// request (a panic in net/http, or a 400 from the rest of a body read as a
// request). Closing it here reads what remains up to net/http's allowance
// (256 KiB) so that the connection carries the next request, or marks the
// connection to be closed after the response when more remains.
func (t *httpTransport) finishBody() {
	_ = t.r.Body.Close()
}

// httpRequestHeader is a net/http request as the HTTP/2 header block the
// protocols read: pseudo-header fields first, names in lower case.
func httpRequestHeader(r *http.Request) h2.Header {
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	hdr := make(h2.Header, 0, 4+len(r.Header))
	hdr = append(hdr, h2.HeaderField{Name: ":method", Value: r.Method}, h2.HeaderField{Name: ":scheme", Value: scheme},
		h2.HeaderField{Name: ":path", Value: path}, h2.HeaderField{Name: ":authority", Value: r.Host})
	return h2.AppendHTTPHeader(hdr, r.Header)
}

// httpTransport is a call's transport over net/http: the methods of
// h2.Stream that the protocols use, in net/http's terms. Trailers are
// declared as they are sent (http.TrailerPrefix), which net/http supports
// on HTTP/2 and on chunked HTTP/1.1 responses.
type httpTransport struct {
	w     http.ResponseWriter
	r     *http.Request
	rc    *http.ResponseController
	req   eofReader // the request body, remembering whether it ended
	body  ioFramedReader
	http1 bool
}

// eofReader is a request body that remembers reaching its end.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

// maxRequestDrain is how much of an unread HTTP/1.1 request body a
// response may wait for, as net/http's own servers allow (256 KiB).
const maxRequestDrain = 256 << 10

// keepAliveOrClose decides, before an HTTP/1.1 response header goes out,
// whether the connection can carry another request: only if the request
// body has ended. A response that is the whole answer (the call is over)
// first reads what remains of the body, up to maxRequestDrain. Otherwise
// the header says "Connection: close". Without it net/http would close the
// connection after a response whose request it could not finish, while the
// client, told nothing, sent its next request on it (and got EOF: the
// Connect conformance suite saw it about once a run).
func (t *httpTransport) keepAliveOrClose(whole bool) {
	if !t.http1 || t.req.eof {
		return
	}
	if whole {
		_, _ = io.CopyN(io.Discard, &t.req, maxRequestDrain)
		if t.req.eof {
			return
		}
	}
	t.w.Header().Set("Connection", "close")
}

func (t *httpTransport) Context() context.Context { return t.r.Context() }

func (t *httpTransport) Read(p []byte) (int, error) { return t.req.Read(p) }

func (t *httpTransport) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	return t.body.ReadFramed(p, need)
}

func (t *httpTransport) ReadFramedInPlace(p []byte, need func([]byte) int) (int, error) {
	return t.body.ReadFramed(p, need)
}

func (t *httpTransport) respond(hdr h2.Header, opts h2.RespondOptions) error {
	code := http.StatusOK
	h := t.w.Header()
	for _, f := range hdr {
		if f.Name == ":status" {
			if n, err := strconv.Atoi(f.Value); err == nil {
				code = n
			}
			continue
		}
		h[http.CanonicalHeaderKey(f.Name)] = append(h[http.CanonicalHeaderKey(f.Name)], f.Value)
	}
	if opts.Body != nil {
		h.Set("Content-Length", strconv.Itoa(len(opts.Body)))
		if opts.Trailers != nil {
			h.Del("Content-Length") // trailers need a chunked (or HTTP/2) body
		}
	}
	t.keepAliveOrClose(opts.EndStream || opts.Body != nil || opts.Trailers != nil)
	t.w.WriteHeader(code)
	if opts.Body == nil && opts.Trailers == nil {
		if !opts.EndStream {
			return t.rc.Flush()
		}
		return nil
	}
	_, err := t.End(opts.Body, opts.Trailers)
	return err
}

func (t *httpTransport) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, t.rc.Flush()
}

func (t *httpTransport) End(p []byte, trailers h2.Header) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, t.WriteTrailers(trailers)
}

func (t *httpTransport) WriteTrailers(trailers h2.Header) error {
	h := t.w.Header()
	for _, f := range trailers {
		k := http.TrailerPrefix + f.Name
		h[k] = append(h[k], f.Value)
	}
	return nil
}

// httpPeer describes the client of a call served over net/http.
func httpPeer(r *http.Request) *Peer {
	p := &Peer{Addr: addrString(r.RemoteAddr), TLS: r.TLS}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		p.LocalAddr = la
	}
	return p
}

// addrString is a net.Addr for the "host:port" net/http reports.
type addrString string

func (a addrString) Network() string {
	if strings.HasPrefix(string(a), "@") || strings.HasPrefix(string(a), "/") {
		return "unix"
	}
	return "tcp"
}

func (a addrString) String() string { return string(a) }

// ioFramedReader reads framed units (framedReader) from a plain reader: a
// request body over net/http, or a decoded one.
type ioFramedReader struct{ r io.Reader }

func (f ioFramedReader) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	got := 0
	for {
		want := len(p)
		if need != nil {
			want = min(need(p[:got:len(p)]), len(p))
		}
		if got >= want {
			return got, nil
		}
		n, err := f.r.Read(p[got:want])
		got += n
		if err != nil {
			if err == io.EOF && got >= want {
				return got, nil // the next read reports the end
			}
			return got, err
		}
	}
}

func (f ioFramedReader) ReadFramedInPlace(p []byte, need func([]byte) int) (int, error) {
	return f.ReadFramed(p, need)
}
