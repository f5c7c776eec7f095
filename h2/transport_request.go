package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// outRequest is one RoundTrip call across its attempts: what stays the same
// when an unprocessed request is sent again.
type outRequest struct {
	t     *Transport
	req   *http.Request
	hdr   Header // built once; sessions only read it
	trace *httptrace.ClientTrace
	// body is the request body still to send (nil: none); touched once a
	// writer has read from it, after which a retry needs GetBody.
	body          io.ReadCloser
	touched       bool
	contentLength int64 // -1: unknown
	expect        bool  // "Expect: 100-continue" with a body and a timeout
	// inline is a small in-memory body read whole up front, sent with the
	// headers in one step and again, as it is, on a retry.
	inline    []byte
	inlineBox *[]byte
}

// inlineMax bounds the bodies read ahead whole: below it a body costs a
// copy into a pooled buffer, above it a goroutine streams it.
const inlineMax = 64 << 10

var inlinePool = sync.Pool{New: func() any { b := make([]byte, inlineMax); return &b }}

// bodyBufPool holds the buffers request bodies are copied through.
var bodyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// init prepares req for its attempts. rt lives on RoundTrip's stack: one
// allocation fewer per request.
func (rt *outRequest) init(t *Transport, req *http.Request, body io.ReadCloser) error {
	*rt = outRequest{t: t, req: req, body: body, trace: traceOf(req), contentLength: req.ContentLength}
	if body == nil {
		rt.contentLength = 0
	} else if rt.contentLength == 0 {
		rt.contentLength = -1 // net/http: 0 with a Body means unknown
	}
	tlsOn := req.URL.Scheme == "https"
	hdr, err := requestHeader(req, tlsOn, rt.contentLength)
	if err != nil {
		return err
	}
	rt.hdr = hdr
	rt.expect = body != nil && t.ExpectContinueTimeout > 0 && strings.EqualFold(req.Header.Get("Expect"), "100-continue")
	// A body that net/http knows to be in memory (GetBody set, as
	// http.NewRequest does for bytes and strings readers) and small is read
	// now: it leaves with the headers, and needs no goroutine.
	if body != nil && req.GetBody != nil && rt.contentLength > 0 && rt.contentLength <= inlineMax &&
		!rt.expect && len(req.Trailer) == 0 {
		box := inlinePool.Get().(*[]byte)
		buf := (*box)[:rt.contentLength]
		_, err := io.ReadFull(body, buf)
		if err == nil {
			var one [1]byte
			if n, _ := body.Read(one[:]); n > 0 {
				err = fmt.Errorf("h2: request body longer than its ContentLength %d", rt.contentLength)
			}
		} else {
			err = fmt.Errorf("h2: reading the request body: %w", err)
		}
		_ = body.Close()
		rt.body = nil
		if err != nil {
			inlinePool.Put(box)
			return err
		}
		rt.inline, rt.inlineBox = buf, box
	}
	return nil
}

// release returns what the round trip borrowed, once RoundTrip returns.
func (rt *outRequest) release() {
	if rt.inlineBox != nil {
		inlinePool.Put(rt.inlineBox)
		rt.inline, rt.inlineBox = nil, nil
	}
}

// fail ends RoundTrip with err, closing a body no writer took.
func (rt *outRequest) fail(err error) (*http.Response, error) {
	if rt.body != nil && !rt.touched {
		_ = rt.body.Close()
	}
	return nil, err
}

// viaHTTP1 hands the request to Transport.HTTP1 before anything was sent:
// the body as it is, or, when it was read ahead, a new one from GetBody (in a
// copy of the request, which a RoundTripper must not modify).
func (rt *outRequest) viaHTTP1() (*http.Response, error) {
	req := rt.req
	if rt.inline != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("h2: request to an HTTP/1 server: GetBody: %w", err)
		}
		r2 := *req
		r2.Body = body
		req = &r2
	}
	return rt.t.HTTP1.RoundTrip(req)
}

// rewind makes the body ready to be sent again after an unprocessed attempt.
func (rt *outRequest) rewind() error {
	if rt.body == nil || !rt.touched {
		return nil
	}
	if rt.req.GetBody == nil {
		return fmt.Errorf("h2: request not retried: its body was partly sent and Request.GetBody is nil: %w", ErrUnprocessed)
	}
	b, err := rt.req.GetBody()
	if err != nil {
		return fmt.Errorf("h2: request not retried: GetBody: %w", err)
	}
	if b == http.NoBody {
		b = nil
	}
	rt.body, rt.touched = b, false
	return nil
}

// on sends the request on tc (whose stream slot the pool reserved) and
// waits for the response headers.
func (rt *outRequest) on(tc *transportConn) (*http.Response, error) {
	ex := &exchange{tc: tc, ctx: rt.req.Context()}
	ex.parties.Store(1)
	if rt.trace != nil && rt.trace.Got1xxResponse != nil {
		ex.ctx, ex.cancel = context.WithCancelCause(ex.ctx)
		defer func() {
			if ex.res == nil {
				ex.cancel(nil)
			}
		}()
	}
	opts := RequestOptions{EndStream: rt.body == nil}
	if rt.inline != nil {
		opts.Body = rt.inline
	}
	if rt.expect {
		ex.cont = make(chan struct{})
	}
	if trace := rt.trace; trace != nil || ex.cont != nil {
		opts.OnInformational = func(h Header) { ex.onInformational(trace, h) }
	}
	st, err := tc.sess.Request(ex.ctx, rt.hdr, &opts)
	if err != nil {
		tc.t.pool.release(tc)
		return nil, ex.mapErr(err)
	}
	ex.st = st
	if ex.ctx.Done() != nil {
		ex.stopCtx = context.AfterFunc(ex.ctx, func() { st.Reset(ErrCodeCancel) })
	}
	if rt.body != nil {
		ex.parties.Add(1)
		ex.body = rt.body
		rt.touched = true
		go ex.writeBody(rt.contentLength, rt.req.Trailer, rt.t.ExpectContinueTimeout)
	}
	h, err := st.Response(ex.ctx)
	if ex.cont != nil {
		ex.signalContinue(false)
	}
	if err != nil {
		return nil, ex.abandon(err)
	}
	res, err := rt.response(ex, h)
	if err != nil {
		return nil, ex.abandon(err)
	}
	return res, nil
}

// response makes the http.Response of the final response headers h.
func (rt *outRequest) response(ex *exchange, h Header) (*http.Response, error) {
	code, err := strconv.Atoi(h.Get(":status"))
	if err != nil || code < 200 || code > 999 {
		return nil, fmt.Errorf("h2: malformed response :status %q", h.Get(":status"))
	}
	res := &ex.response
	*res = http.Response{
		Status:        statusLine(code),
		StatusCode:    code,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        responseHeader(h),
		ContentLength: -1,
		Request:       rt.req,
		TLS:           ex.tc.tlsState,
	}
	if v := h.Get("content-length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			res.ContentLength = n
		}
	} else if code == http.StatusNoContent || code == http.StatusNotModified {
		res.ContentLength = 0
	}
	for _, v := range h.Values("trailer") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				if res.Trailer == nil {
					res.Trailer = make(http.Header)
				}
				res.Trailer[textproto.CanonicalMIMEHeaderKey(name)] = nil
			}
		}
	}
	ex.res = res
	ex.resBody.ex = ex
	res.Body = &ex.resBody
	return res, nil
}

// responseHeader is Header.HTTP for a response: the values of all fields
// share one backing array, so a response costs the map and one slice
// instead of a slice per field.
func responseHeader(h Header) http.Header {
	n := 0
	for _, f := range h {
		if !strings.HasPrefix(f.Name, ":") {
			n++
		}
	}
	out := make(http.Header, n)
	vals := make([]string, n)
	i := 0
	for _, f := range h {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		name := textproto.CanonicalMIMEHeaderKey(f.Name)
		vals[i] = f.Value
		if prev, ok := out[name]; ok {
			out[name] = append(prev, f.Value) // a repeated field: its own array now
		} else {
			out[name] = vals[i : i+1 : i+1]
		}
		i++
	}
	return out
}

// statusLines holds Response.Status for the codes net/http names, made once:
// building "200 OK" per response would cost an allocation each time.
var statusLines = sync.OnceValue(func() []string {
	lines := make([]string, 600)
	for code := range lines {
		if text := http.StatusText(code); text != "" {
			lines[code] = strconv.Itoa(code) + " " + text
		}
	}
	return lines
})

// statusLine is Response.Status for code: "200 OK", or "599 " for a code
// without a name, as net/http writes it.
func statusLine(code int) string {
	if code < 600 {
		if line := statusLines()[code]; line != "" {
			return line
		}
	}
	return strconv.Itoa(code) + " "
}

// exchange is one attempt: a stream, and who still uses it. The stream's
// slot in the pool is released when the last of its parties (the response
// side, and the body writer if any) is done.
type exchange struct {
	tc       *transportConn
	st       *Stream
	ctx      context.Context
	cancel   context.CancelCauseFunc // only when a trace callback can fail the request
	stopCtx  func() bool
	res      *http.Response
	response http.Response // what res points to, and resBody res.Body: one allocation for the three
	resBody  responseBody
	parties  atomic.Int32

	body       io.ReadCloser
	bodyOnce   sync.Once
	bodyErr    atomic.Pointer[error] // why the writer gave up, reported in place of the reset it caused
	writerDone atomic.Bool           // the request's END_STREAM (or trailers) is queued

	// cont, for "Expect: 100-continue", is closed when the 100 or the final
	// response arrives; got100 tells which came.
	cont     chan struct{}
	contOnce sync.Once
	got100   atomic.Bool
}

// finish is called once by each party; the last one frees the slot.
func (ex *exchange) finish() {
	if ex.parties.Add(-1) != 0 {
		return
	}
	if ex.stopCtx != nil {
		ex.stopCtx()
	}
	if ex.cancel != nil {
		ex.cancel(nil)
	}
	ex.tc.t.pool.release(ex.tc)
}

// abandon ends an attempt that produced no response: the stream is reset
// (a no-op if it already ended), a blocked body writer let go, and err told
// in the caller's terms.
func (ex *exchange) abandon(err error) error {
	ex.st.Reset(ErrCodeCancel)
	ex.closeBody()
	ex.signalContinue(false)
	err = ex.mapErr(err)
	ex.finish()
	return err
}

// closeBody closes the request body once, from the writer when it is done or
// from RoundTrip when the exchange fails (which unblocks a writer waiting in
// the body's Read, as net/http does).
func (ex *exchange) closeBody() {
	if ex.body != nil {
		ex.bodyOnce.Do(func() { _ = ex.body.Close() })
	}
}

// mapErr reports a stream failure as its cause: the request's context, a
// trace callback's error, or the request body's own error.
func (ex *exchange) mapErr(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if e := ex.ctx.Err(); e != nil {
		if cause := context.Cause(ex.ctx); cause != nil && ex.cancel != nil {
			return cause
		}
		return e
	}
	if p := ex.bodyErr.Load(); p != nil {
		return *p
	}
	return err
}

// onInformational reports a 1xx response; it runs on the session's reader
// goroutine.
func (ex *exchange) onInformational(trace *httptrace.ClientTrace, h Header) {
	code, _ := strconv.Atoi(h.Get(":status"))
	if code == http.StatusContinue {
		ex.signalContinue(true)
	}
	if trace == nil {
		return
	}
	if code == http.StatusContinue && trace.Got100Continue != nil {
		trace.Got100Continue()
	}
	if trace.Got1xxResponse != nil {
		if err := trace.Got1xxResponse(code, textproto.MIMEHeader(h.HTTP())); err != nil {
			ex.cancel(err)
		}
	}
}

// signalContinue lets a writer waiting for 100-continue go on: with the
// body after a 100, without it once the final response came first.
func (ex *exchange) signalContinue(got100 bool) {
	if ex.cont == nil {
		return
	}
	ex.contOnce.Do(func() {
		ex.got100.Store(got100)
		close(ex.cont)
	})
}

// writeBody streams the request body, then ends the request with its
// trailers or END_STREAM. It is the one goroutine a request with a streamed
// body costs.
func (ex *exchange) writeBody(contentLength int64, trailer http.Header, expectTimeout time.Duration) {
	defer ex.finish()
	defer ex.closeBody()
	st := ex.st
	if ex.cont != nil {
		timer := time.NewTimer(expectTimeout)
		select {
		case <-ex.cont:
		case <-timer.C:
			ex.signalContinue(true) // no answer in time: send the body anyway
		}
		timer.Stop()
		if !ex.got100.Load() {
			// The server answered without asking for the body: it is not
			// sent, and the stream is reset once the response is read.
			return
		}
	}
	box := bodyBufPool.Get().(*[]byte)
	n, readErr, writeErr := copyBody(st, ex.body, *box, contentLength)
	bodyBufPool.Put(box)
	var err error
	switch {
	case readErr != nil:
		err = fmt.Errorf("h2: reading the request body: %w", readErr)
	case writeErr != nil:
		var tl *tooLongError
		if !errors.As(writeErr, &tl) {
			return // the stream failed: its error reaches the response side
		}
		err = writeErr
	case contentLength >= 0 && n != contentLength:
		err = fmt.Errorf("h2: request body of %d bytes, shorter than its ContentLength %d", n, contentLength)
	}
	if err != nil {
		ex.bodyErr.Store(&err)
		st.Reset(ErrCodeCancel)
		return
	}
	if len(trailer) > 0 {
		err = st.WriteTrailers(HeaderFromHTTP(trailer))
	} else {
		err = st.CloseWrite()
	}
	if err != nil {
		if errors.Is(err, ErrInvalidHeader) {
			ex.bodyErr.Store(&err)
		}
		st.Reset(ErrCodeCancel)
		return
	}
	ex.writerDone.Store(true)
}

// tooLongError is a request body that went past its ContentLength.
type tooLongError struct{ limit int64 }

func (e *tooLongError) Error() string {
	return fmt.Sprintf("h2: request body longer than its ContentLength %d", e.limit)
}

// tlsStateOf returns the connection's TLS state, shared by its responses.
func tlsStateOf(c *tls.Conn) *tls.ConnectionState {
	cs := c.ConnectionState()
	return &cs
}
