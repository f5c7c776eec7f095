package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

// http1Call is one call's transport on Serve's own HTTP/1.1
// (server_http1.go): the request body from the connection's reader, the
// response written straight to the connection. A whole response (Connect
// unary, a gRPC-Web unary) leaves in one write with its Content-Length; a
// stream is chunked, one write per message.
type http1Call struct {
	conn   *http1ServerConn
	ctx    context.Context
	cancel context.CancelFunc
	minor  int         // the request's HTTP/1.minor
	extra  http.Header // CORS headers for the response
	state  respState
	close  bool  // the response says Connection: close
	err    error // a write failed: the connection is broken
	done   bool  // the call is over: later writes of a handler that kept the stream fail
	// continued: "100 Continue" went out, so the client sends the body.
	continued bool
	// deadline is the call's, from the timeout the client sent (zero for
	// none): a body read waits no longer.
	deadline time.Time
	// hdrRoom holds the request's fields when they fit (most requests).
	hdrRoom [16]h2.HeaderField
	// ss is the call's state, in the same allocation as the call: both
	// live as long as the request, and a serverStream of its own cost an
	// allocation (some 400 bytes) per request.
	ss serverStream
}

// respState is how far the response got.
type respState uint8

const (
	respNone    respState = iota // nothing sent
	respChunked                  // header sent, body chunked (HTTP/1.1 streams)
	respRaw                      // header sent, body until the connection closes (HTTP/1.0 streams)
	respDone                     // complete
)

// errCallOver fails the writes of a handler that kept its stream past the
// call.
var errCallOver = errors.New("rpc: the HTTP/1.1 call is over")

func (t *http1Call) Context() context.Context { return t.ctx }

func (t *http1Call) Read(p []byte) (int, error) {
	if t.done {
		return 0, errCallOver
	}
	c := t.conn
	// A body that is all in the buffer (most unary requests) is read
	// without a deadline: setting one costs a clock read and a timer update.
	stalled := !c.body.buffered() && c.armBodyTimeout(t.deadline)
	n, err := c.body.Read(p)
	if err != nil && stalled && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("rpc: the client sent no request body for %v (HTTP1Parameters.BodyReadTimeout): %w", c.srv.h1.bodyTimeout, err)
	}
	return n, err
}

// armBodyTimeout bounds the next wait for request body bytes, by the body
// timeout or the call's deadline if sooner (then the call fails with its
// DEADLINE_EXCEEDED; the result says which). The client, not the handler,
// is timed: whatever deadline an earlier read left may have passed while
// the handler worked.
func (c *http1ServerConn) armBodyTimeout(callDeadline time.Time) (stall bool) {
	d := time.Now().Add(c.srv.h1.bodyTimeout)
	stall = callDeadline.IsZero() || d.Before(callDeadline)
	if !stall {
		d = callDeadline
	}
	_ = c.nc.SetReadDeadline(d)
	return stall
}

func (t *http1Call) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	return ioFramedReader{r: t}.ReadFramed(p, need)
}

func (t *http1Call) ReadFramedInPlace(p []byte, need func([]byte) int) (int, error) {
	return ioFramedReader{r: t}.ReadFramed(p, need)
}

func (t *http1Call) respond(hdr h2.Header, opts h2.RespondOptions) error {
	if t.done {
		return errCallOver
	}
	if t.state != respNone {
		return errors.New("rpc: HTTP/1.1 response header sent twice")
	}
	code := http.StatusOK
	if v := hdr.Get(":status"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			code = n
		}
	}
	whole := opts.EndStream || opts.Body != nil || opts.Trailers != nil
	t.keepAliveOrClose(whole)
	chunked := !whole || len(opts.Trailers) > 0
	if chunked && t.minor == 0 {
		chunked = false // no chunked coding in HTTP/1.0: the body ends with the connection
		t.close = true
	}
	c := t.conn
	out := c.appendStatusLine(c.out[:0], code)
	for _, f := range hdr {
		if f.Name == "" || f.Name[0] == ':' || framingHeader(f.Name) {
			continue
		}
		out = appendField(out, f.Name, f.Value)
	}
	for k, vs := range t.extra {
		for _, v := range vs {
			out = appendField(out, k, v)
		}
	}
	out = t.appendConnection(out)
	switch {
	case chunked:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case whole:
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(opts.Body)), 10)
		out = append(out, "\r\n"...)
	}
	out = append(out, "\r\n"...)
	t.state = respRaw
	if chunked {
		t.state = respChunked
	}
	if whole && t.state != respChunked && len(opts.Body) > bigBody {
		// A large body goes from where it is, with the header in one
		// writev, rather than copied behind it.
		c.out = out
		t.state = respDone
		return t.writeBuffers(out, opts.Body)
	}
	if whole {
		out = t.appendEnd(out, opts.Body, opts.Trailers)
	}
	c.out = out
	if whole && !t.close && c.aw != nil {
		c.pending = true // written by idle, which then waits for the next request
		return nil
	}
	return t.write(out)
}

// writeBuffers sends head and body in one writev.
func (t *http1Call) writeBuffers(head, body []byte) error {
	if t.err != nil {
		return t.err
	}
	if err := t.conn.writeTimed2(head, body); err != nil {
		t.err = err
		t.conn.cancel()
		return err
	}
	return nil
}

// framingHeader names the fields this transport writes itself.
func framingHeader(name string) bool {
	switch name {
	case "content-length", "transfer-encoding", "connection", "keep-alive", "date":
		return true
	}
	return false
}

// appendConnection adds the Date and, when it says something, the
// Connection header.
func (t *http1Call) appendConnection(out []byte) []byte {
	out = append(out, "Date: "...)
	out = append(out, t.conn.httpDate()...)
	out = append(out, "\r\n"...)
	switch {
	case t.close:
		out = append(out, "Connection: close\r\n"...)
	case t.minor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return out
}

// keepAliveOrClose decides, before the response header goes out, whether
// the connection can carry another request: only if this one's body has
// ended (as over net/http, server_http.go). A whole response first reads
// what remains, up to maxRequestDrain, unless the client still waits for
// "100 Continue" and has sent nothing.
func (t *http1Call) keepAliveOrClose(whole bool) {
	c, b := t.conn, &t.conn.body
	if c.req.close || c.srv.h1.closingNow.Load() {
		t.close = true // asked for, or the server is shutting down
	}
	if b.ended() || t.close {
		return
	}
	if b.kind == bodyChunked && !b.inData && b.err == nil && c.br.Buffered() >= 5 {
		// The last chunk already arrived: end the body without waiting.
		if p, _ := c.br.Peek(5); string(p) == "0\r\n\r\n" {
			_, _ = c.br.Discard(5)
			b.err = io.EOF
			return
		}
	}
	if whole && (!c.req.expect || t.continued) {
		b.beforeRead = nil
		if !b.buffered() {
			c.armBodyTimeout(t.deadline)
		}
		_, _ = io.CopyN(io.Discard, b, maxRequestDrain)
		if b.ended() {
			return
		}
	}
	t.close = true
}

func (t *http1Call) Write(p []byte) (int, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	out := t.conn.out[:0]
	if t.state == respChunked {
		out = appendChunk(out, p)
	} else {
		out = append(out, p...)
	}
	t.conn.out = out
	if err := t.write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *http1Call) End(p []byte, trailers h2.Header) (int, error) {
	if t.state == respNone && !t.done {
		if p == nil {
			p = []byte{}
		}
		return len(p), t.respond(h2.Header{{Name: ":status", Value: "200"}}, h2.RespondOptions{Body: p, Trailers: trailers})
	}
	if err := t.writable(); err != nil {
		return 0, err
	}
	out := t.appendEnd(t.conn.out[:0], p, trailers)
	t.conn.out = out
	if err := t.write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *http1Call) WriteTrailers(trailers h2.Header) error {
	_, err := t.End(nil, trailers)
	return err
}

// writable says whether the response can take more body.
func (t *http1Call) writable() error {
	switch {
	case t.done:
		return errCallOver
	case t.err != nil:
		return t.err
	case t.state == respNone:
		return errors.New("rpc: HTTP/1.1 body before the response header")
	case t.state == respDone:
		return errors.New("rpc: HTTP/1.1 response already complete")
	}
	return nil
}

// appendEnd adds the last of the body and completes the response: after a
// chunked body the last chunk and the trailers (RFC 9112 §7.1.2); trailers
// are dropped where there is no chunked coding.
func (t *http1Call) appendEnd(out, p []byte, trailers h2.Header) []byte {
	if t.state != respChunked {
		out = append(out, p...)
		t.state = respDone
		return out
	}
	if len(p) > 0 {
		out = appendChunk(out, p)
	}
	out = append(out, "0\r\n"...)
	for _, f := range trailers {
		out = appendField(out, f.Name, f.Value)
	}
	out = append(out, "\r\n"...)
	t.state = respDone
	return out
}

// write sends out; a failure breaks the connection.
func (t *http1Call) write(out []byte) error {
	if t.err != nil {
		return t.err
	}
	if err := t.conn.writeTimed(out); err != nil {
		t.err = err
		t.conn.cancel() // the client is gone: the call's context says so
		return err
	}
	return nil
}

// bare answers a request that is no call: a status with no body. It
// reports whether the connection carries on.
func (t *http1Call) bare(code int) bool {
	hdr := h2.Header{{Name: ":status", Value: strconv.Itoa(code)}}
	if code == http.StatusMethodNotAllowed {
		hdr = append(hdr, h2.HeaderField{Name: "allow", Value: "POST"})
	}
	_ = t.respond(hdr, h2.RespondOptions{EndStream: true})
	t.done = true
	if !t.keepAlive() {
		if t.err == nil && !t.conn.body.ended() {
			t.conn.lingerClose()
		}
		return false
	}
	return true
}

// finish completes what the call left open: a response never sent is an
// empty 200 (as net/http sends for a handler that wrote nothing), a stream
// gets its last chunk.
func (t *http1Call) finish() {
	switch t.state {
	case respNone:
		_ = t.respond(h2.Header{{Name: ":status", Value: "200"}}, h2.RespondOptions{EndStream: true})
	case respChunked:
		_, _ = t.End(nil, nil)
	case respRaw:
		t.close = true
	}
	t.done = true
	t.cancel()
}

// keepAlive reports whether the connection may carry the next request.
func (t *http1Call) keepAlive() bool {
	return !t.close && t.err == nil && t.state == respDone && t.conn.body.ended()
}

// appendStatusLine adds "HTTP/1.1 code reason".
func (c *http1ServerConn) appendStatusLine(out []byte, code int) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(code)...)
	return append(out, "\r\n"...)
}

// httpDate is the Date header's value, formatted once a second.
func (c *http1ServerConn) httpDate() []byte {
	now := time.Now()
	if sec := now.Unix(); sec != c.dateSec || c.date == nil {
		c.dateSec = sec
		c.date = now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
	}
	return c.date
}

// appendField adds "Name: value" with the name in canonical case (HTTP/1
// peers accept any case; people read this one).
func appendField(out []byte, name, value string) []byte {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out = append(out, c)
		upper = c == '-'
	}
	out = append(out, ": "...)
	out = append(out, value...)
	return append(out, "\r\n"...)
}

// appendChunk adds p as one chunk.
func appendChunk(out, p []byte) []byte {
	out = strconv.AppendInt(out, int64(len(p)), 16)
	out = append(out, "\r\n"...)
	out = append(out, p...)
	return append(out, "\r\n"...)
}
