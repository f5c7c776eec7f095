package h2

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The response half of the net/http bridge: an http.ResponseWriter over a
// server stream. Like net/http's, it holds the first few KiB of the body
// until the handler flushes, writes more, or returns, so that a small
// response goes out as one HEADERS and one DATA frame with a Content-Length
// (and a sniffed Content-Type) in one step of the engine.

// httpBufSize is how much body the writer holds before sending the headers.
const httpBufSize = 4 << 10

type httpResponseWriter struct {
	ex *httpExchange
	st *Stream

	handlerHeader http.Header // what Header returns; kept across requests, emptied
	wroteHeader   bool        // the final status is set (hdr is its snapshot)
	sent          bool        // the final headers went to the stream
	status        int
	hdr           Header // the snapshot taken at WriteHeader: ":status" and the map's fields
	declaredCL    int64  // the Content-Length the handler set, or -1
	hasType       bool   // the map had a Content-Type key (set, or nil to suppress sniffing)
	hasDate       bool
	trailerNames  []string // declared in the Trailer header at WriteHeader
	// continueSent is set by the first of WriteHeader(100) and the body's
	// first Read, which may run on another goroutine (full duplex).
	continueSent atomic.Bool
	head         bool
	written      int64 // body bytes accepted from the handler
	buf          []byte
}

func (w *httpResponseWriter) reset(ex *httpExchange, st *Stream, head bool) {
	h := w.handlerHeader
	if h == nil {
		h = make(http.Header)
	} else {
		clear(h)
	}
	buf := w.buf[:0]
	if buf == nil {
		buf = make([]byte, 0, httpBufSize)
	}
	*w = httpResponseWriter{ex: ex, st: st, handlerHeader: h, declaredCL: -1, head: head, buf: buf, trailerNames: w.trailerNames[:0]}
}

// Header returns the header map the response will carry.
func (w *httpResponseWriter) Header() http.Header { return w.handlerHeader }

// WriteHeader sets the status. A 1xx status (other than 101, which HTTP/2
// does not have) is sent at once with the header map's current fields, as
// net/http does for 103 Early Hints; the final status is sent with the first
// flush of the body, and the map is copied now: later changes to it are
// ignored, except for trailers.
func (w *httpResponseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("h2: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if w.wroteHeader {
		return
	}
	if code < 200 {
		if code == 101 || w.sent {
			return
		}
		if code == 100 {
			if !w.continueSent.CompareAndSwap(false, true) {
				return
			}
		}
		info := w.convert(code, false)
		_ = w.st.SendInformational(info)
		return
	}
	w.wroteHeader, w.status = true, code
	w.hdr = w.convert(code, true)
}

// convert turns the header map into a field list after ":status". For the
// final response it notes the fields that the writer adds or checks itself.
func (w *httpResponseWriter) convert(code int, final bool) Header {
	out := make(Header, 1, len(w.handlerHeader)+4)
	out[0] = HeaderField{Name: ":status", Value: statusString(code)}
	for name, vs := range w.handlerHeader {
		switch name {
		case "Content-Type":
			w.hasType = w.hasType || final
		case "Date":
			w.hasDate = w.hasDate || final
		case "Content-Length":
			if !final {
				continue
			}
			if len(vs) == 1 {
				if n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64); err == nil && n >= 0 {
					w.declaredCL = n
					out = append(out, HeaderField{Name: "content-length", Value: vs[0]})
				}
			}
			continue // an invalid one is dropped, as net/http does
		case "Trailer":
			if final {
				w.trailerNames = appendDeclaredNames(w.trailerNames, vs)
			}
		}
		if strings.HasPrefix(name, http.TrailerPrefix) {
			continue
		}
		lower := wireName(name)
		if !validFieldName(lower) || connectionSpecific(lower) || lower == "te" {
			continue
		}
		for _, v := range vs {
			if validFieldValue(v) {
				out = append(out, HeaderField{Name: lower, Value: v})
			}
		}
	}
	sortFields(out[1:])
	return out
}

// sortFields orders fields by name (insertion sort: short lists, no
// allocation), so that equal maps give equal blocks, whatever Go's map order,
// and the HPACK memo sees the same block again.
func sortFields(h Header) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].Name < h[j-1].Name; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

func appendDeclaredNames(dst []string, vs []string) []string {
	for _, v := range vs {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				dst = append(dst, http.CanonicalHeaderKey(name))
			}
		}
	}
	return dst
}

// bodyAllowed reports whether the status may carry content (RFC 9110 §15).
func (w *httpResponseWriter) bodyAllowed() bool {
	return w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

// Write writes body bytes, sending the headers first when the held bytes
// would overflow. A HEAD request's body is counted and dropped. Bytes beyond
// a declared Content-Length fail with http.ErrContentLength.
func (w *httpResponseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declaredCL >= 0 && w.written+int64(len(p)) > w.declaredCL {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head || len(p) == 0 {
		return len(p), nil
	}
	if !w.sent {
		if len(w.buf)+len(p) <= cap(w.buf) {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.sendHeaders(p); err != nil {
			return 0, err
		}
	}
	return w.st.Write(p)
}

// WriteString is Write without the conversion's copy.
func (w *httpResponseWriter) WriteString(s string) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent && !w.head && w.bodyAllowed() && len(w.buf)+len(s) <= cap(w.buf) &&
		(w.declaredCL < 0 || w.written+int64(len(s)) <= w.declaredCL) {
		w.buf = append(w.buf, s...)
		w.written += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// sendHeaders sends the final headers and the held bytes, which (followed by
// next) are what the Content-Type is sniffed from.
func (w *httpResponseWriter) sendHeaders(next []byte) error {
	hdr := w.finalHeader(next, -1)
	w.sent = true
	if err := w.st.Respond(hdr, nil); err != nil {
		return err
	}
	if len(w.buf) > 0 {
		_, err := w.st.Write(w.buf)
		w.buf = w.buf[:0]
		return err
	}
	return nil
}

// finalHeader completes the snapshot with what the writer adds: a sniffed
// Content-Type, Date, and contentLength when it is known (>= 0) and the
// handler declared none.
func (w *httpResponseWriter) finalHeader(next []byte, contentLength int64) Header {
	hdr := w.hdr
	if !w.hasType && w.bodyAllowed() && (len(w.buf) > 0 || len(next) > 0) {
		sniff := w.buf
		if len(sniff) < 512 && len(next) > 0 {
			sniff = append(sniff, next[:min(len(next), 512-len(sniff))]...)
		}
		hdr = append(hdr, HeaderField{Name: "content-type", Value: http.DetectContentType(sniff)})
	}
	if !w.hasDate {
		hdr = append(hdr, HeaderField{Name: "date", Value: httpDate()})
	}
	if contentLength >= 0 && w.declaredCL < 0 {
		hdr = append(hdr, HeaderField{Name: "content-length", Value: strconv.FormatInt(contentLength, 10)})
	}
	return hdr
}

// Flush sends the headers and whatever body is held (http.Flusher).
func (w *httpResponseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with its error, for http.ResponseController.
func (w *httpResponseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.sent {
		return w.st.Err()
	}
	return w.sendHeaders(nil)
}

// SetReadDeadline bounds the handler's reads of the request body
// (http.ResponseController).
func (w *httpResponseWriter) SetReadDeadline(t time.Time) error {
	w.st.SetReadDeadline(t)
	return nil
}

// SetWriteDeadline bounds the handler's writes of the response
// (http.ResponseController).
func (w *httpResponseWriter) SetWriteDeadline(t time.Time) error {
	w.st.SetWriteDeadline(t)
	return nil
}

// EnableFullDuplex lets the handler read the request while writing the
// response (http.ResponseController): HTTP/2 always allows it.
func (w *httpResponseWriter) EnableFullDuplex() error { return nil }

// sendContinue answers "Expect: 100-continue" at the handler's first read,
// unless the final response (or a 100) went out already.
func (w *httpResponseWriter) sendContinue() {
	if !w.continueSent.CompareAndSwap(false, true) {
		return
	}
	// Refused by the stream once the final headers are queued: the 100 is
	// then moot, and this goroutine need not look at the writer's state.
	_ = w.st.SendInformational(Header{{Name: ":status", Value: "100"}})
}

// finish ends the response once the handler has returned: held bytes go
// out with the headers, a Content-Length computed when the handler did not
// flush, and the trailers. A body shorter than the declared Content-Length
// resets the stream: the client must not take it for complete.
func (w *httpResponseWriter) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	short := w.declaredCL >= 0 && w.written < w.declaredCL && !w.head && w.bodyAllowed()
	trailers := w.trailers()
	if !w.sent {
		cl := int64(-1)
		if trailers == nil && w.bodyAllowed() && (!w.head || w.written > 0) {
			cl = w.written
		}
		hdr := w.finalHeader(nil, cl)
		w.sent = true
		if short {
			_ = w.st.Respond(hdr, nil)
			w.st.Reset(ErrCodeInternal)
			return
		}
		var body []byte
		if len(w.buf) > 0 {
			body = w.buf
		}
		_ = w.st.Respond(hdr, &RespondOptions{EndStream: body == nil && trailers == nil, Body: body, Trailers: trailers})
		return
	}
	if short {
		w.st.Reset(ErrCodeInternal)
		return
	}
	_, _ = w.st.End(nil, trailers)
}

// trailers collects the declared trailers and those named with
// http.TrailerPrefix from the header map, or nil when there are none.
func (w *httpResponseWriter) trailers() Header {
	var out Header
	add := func(name string, vs []string) {
		lower := wireName(name)
		if !validFieldName(lower) || connectionSpecific(lower) || strings.HasPrefix(lower, ":") {
			return
		}
		for _, v := range vs {
			if validFieldValue(v) {
				out = append(out, HeaderField{Name: lower, Value: v})
			}
		}
	}
	for _, name := range w.trailerNames {
		add(name, w.handlerHeader[name])
	}
	for name, vs := range w.handlerHeader {
		if strings.HasPrefix(name, http.TrailerPrefix) {
			add(name[len(http.TrailerPrefix):], vs)
		}
	}
	sortFields(out)
	return out
}

func statusString(code int) string {
	switch code {
	case 200:
		return "200"
	case 204:
		return "204"
	case 206:
		return "206"
	case 304:
		return "304"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

// httpDate is the Date header's value, formatted once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &dateText{sec: sec, text: now.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	sec  int64
	text string
}

var cachedDate atomic.Pointer[dateText]
