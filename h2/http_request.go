package h2

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// The request half of the net/http bridge: an *http.Request built from a
// server stream, and its Body, which reads the stream (flow control pushes
// back on a client whose handler does not read).

// httpConnInfo is what every request of one connection shares, computed once
// per session instead of once per request (the address string alone costs
// three allocations).
type httpConnInfo struct {
	remoteAddr string
	tls        *tls.ConnectionState
}

func (s *Session) httpConnInfo() *httpConnInfo {
	if ci := s.httpInfo.Load(); ci != nil {
		return ci
	}
	ci := &httpConnInfo{remoteAddr: s.conn.RemoteAddr().String()}
	if tc, ok := s.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		ci.tls = &cs
	}
	s.httpInfo.Store(ci) // two racing first requests compute equal values
	return ci
}

// fillRequest makes ex.req the request of st. It returns false, having
// answered, when the request cannot be given to a handler (a :path that is
// not a valid request target).
func (ex *httpExchange) fillRequest(st *Stream) bool {
	hdr := st.Header()
	var method, path, authority string
	n := 0
	for _, f := range hdr {
		if !strings.HasPrefix(f.Name, ":") {
			break
		}
		n++
		switch f.Name {
		case ":method":
			method = f.Value
		case ":path":
			path = f.Value
		case ":authority":
			authority = f.Value
		}
	}
	fields := hdr[n:]
	u := &ex.url
	*u = url.URL{}
	switch {
	case method == "CONNECT" && path == "":
		u.Host = authority
		path = authority
	case !parseRequestTarget(u, path):
		_ = st.Respond(Header{{Name: ":status", Value: "400"}}, &RespondOptions{EndStream: true})
		return false
	}
	h := ex.header
	if h == nil {
		h = make(http.Header, len(fields))
		ex.header = h
	}
	ex.vals = fillHTTPHeader(h, fields, ex.vals[:0])
	if v, ok := h["Host"]; ok {
		// As net/http's servers do: the host is Request.Host, not a header.
		if authority == "" && len(v) > 0 {
			authority = v[0]
		}
		delete(h, "Host")
	}
	ci := st.s.httpConnInfo()
	r := &ex.req
	*r = http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Host:       authority,
		RemoteAddr: ci.remoteAddr,
		RequestURI: path,
		TLS:        ci.tls,
	}
	ex.body = httpBody{ex: ex, st: st}
	cl, hasCL := int64(-1), false
	if v, ok := h["Content-Length"]; ok && len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			cl, hasCL = n, true
		}
	}
	if st.emptyRequestBody() {
		r.Body, r.ContentLength = http.NoBody, 0
	} else {
		r.Body, r.ContentLength = &ex.body, cl
		if !hasCL {
			r.ContentLength = -1
		}
		if tr, ok := h["Trailer"]; ok {
			r.Trailer = declaredTrailers(tr)
		}
		if v, ok := h["Expect"]; ok && len(v) == 1 && strings.EqualFold(v[0], "100-continue") {
			ex.body.needContinue = true
		}
	}
	// Canceled on RST_STREAM, when the session fails, and once the handler
	// returns: net/http's promise. The stream's context costs nothing until
	// someone waits on it (stream_context.go); most handlers never do.
	*r = *r.WithContext(st.Context())
	return true
}

// parseRequestTarget fills u from an origin-form target ("/p?q") without
// url.Parse's allocation when it needs no unescaping, and through
// url.ParseRequestURI otherwise (also for "*" and absolute forms).
func parseRequestTarget(u *url.URL, target string) bool {
	if target == "" {
		return false
	}
	if target[0] != '/' || !plainTarget(target) {
		parsed, err := url.ParseRequestURI(target)
		if err != nil {
			return false
		}
		*u = *parsed
		return true
	}
	path, query, hasQuery := strings.Cut(target, "?")
	u.Path, u.RawQuery, u.ForceQuery = path, query, hasQuery && query == ""
	return true
}

// plainTarget reports whether target needs none of url.Parse's work: no
// escapes to decode, no fragment, no control character to refuse.
func plainTarget(target string) bool {
	for i := 0; i < len(target); i++ {
		if c := target[i]; c == '%' || c == '#' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// fillHTTPHeader fills h (emptied first) from fields with canonical names.
// Values of single-valued names are slices of one shared backing array
// (returned for reuse); cookie fields, which HTTP/2 may split, are joined
// with "; " into one (RFC 9113 §8.2.3), as net/http's handlers expect.
func fillHTTPHeader(h http.Header, fields Header, vals []string) []string {
	clear(h)
	if cap(vals) < len(fields) {
		vals = make([]string, 0, len(fields))
	}
	var cookies []string
	for _, f := range fields {
		if f.Name == "cookie" {
			cookies = append(cookies, f.Value)
			continue
		}
		name := canonicalName(f.Name)
		if prev, ok := h[name]; ok {
			h[name] = append(prev[:len(prev):len(prev)], f.Value)
			continue
		}
		vals = append(vals, f.Value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	switch len(cookies) {
	case 0:
	case 1:
		h["Cookie"] = cookies
	default:
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	return vals
}

// declaredTrailers turns a request's Trailer header into net/http's
// Request.Trailer: the declared names, filled when the body ends.
func declaredTrailers(declared []string) http.Header {
	var tr http.Header
	for _, v := range declared {
		for _, name := range strings.Split(v, ",") {
			name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
			switch name {
			case "", "Transfer-Encoding", "Trailer", "Content-Length":
				continue
			}
			if tr == nil {
				tr = make(http.Header)
			}
			tr[name] = nil
		}
	}
	return tr
}

// httpBody is a request's Body: the stream's inbound side. Its first Read
// answers "Expect: 100-continue" (Node's 'checkContinue'); at the end of the
// body the trailers are copied into Request.Trailer.
type httpBody struct {
	ex           *httpExchange
	st           *Stream
	needContinue bool
	closed       bool
	eof          bool
}

func (b *httpBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.needContinue {
		b.needContinue = false
		b.ex.rw.sendContinue()
	}
	n, err := b.st.Read(p)
	if err == io.EOF {
		b.eof = true
		b.copyTrailers()
	}
	return n, err
}

// Close stops the handler's reads. What the client still sends is dropped
// and credited once the handler returns, so the response is not held up.
func (b *httpBody) Close() error {
	b.closed = true
	return nil
}

func (b *httpBody) copyTrailers() {
	tr := b.st.Trailers()
	if len(tr) == 0 {
		return
	}
	r := &b.ex.req
	for _, f := range tr {
		name := canonicalName(f.Name)
		if r.Trailer == nil {
			r.Trailer = make(http.Header)
		}
		r.Trailer[name] = append(r.Trailer[name], f.Value)
	}
}

// emptyRequestBody reports whether the request ended without a byte of body
// (END_STREAM on its HEADERS, or on an empty DATA frame): the handler gets
// http.NoBody and ContentLength 0, as net/http gives it.
func (st *Stream) emptyRequestBody() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.recv.ended() && st.stats.bytesReceived == 0
}
