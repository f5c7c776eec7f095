package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
)

// One exchange of WithHTTP1 (client_http1.go): the request written by
// hand, the response read without net/http, on a connection of the pool.

// errHTTP1Response is what every malformed response wraps.
var errHTTP1Response = errors.New("rpc: malformed HTTP/1.1 response")

// errNoAnswer: the server closed the connection before the first byte of
// a response.
var errNoAnswer = errors.New("rpc: the server closed the HTTP/1.1 connection without answering")

// roundTrip makes the exchange (webTransport); like sessionTransport,
// without http.Client's redirects and timers (calls have their own
// deadlines).
func (h *http1Client) roundTrip(hs *httpStream, resp *webResponse) error {
	ctx := hs.ctx
	wr := &hs.req
	streamed := wr.stream != nil
	closeStream := func() {
		if streamed {
			_ = wr.stream.Close()
		}
	}
	for waits := 0; ; {
		addr, err := h.pickAddr(ctx)
		var c *http1ClientConn
		var reused bool
		if err == nil {
			c, reused, err = h.get(ctx, addr)
		}
		if err != nil {
			if h.waitToRedial(hs, err, &waits) {
				continue
			}
			closeStream()
			return err
		}
		if hs.ci.peer != nil {
			*hs.ci.peer = c.peer()
		}
		rb := &hs.h1resp
		written, err := h.exchange(ctx, c, wr, rb)
		if err == nil {
			*resp = webResponse{code: rb.code, header: rb.header, http1: true, h1: rb}
			if hs.stats.sh != nil {
				p := c.peer()
				if hs.pw != nil {
					hs.stats.peer.Store(&p) // a streamed request was reported as it started
				} else {
					hs.evRequestSent(&p, nil)
				}
			}
			return nil
		}
		// A request that never left may go again on a new connection: a
		// reused one may have been closed by the server meanwhile. So may a
		// GET (side-effect free by definition) the server closed its
		// connection on without a word, as it does at its idle timeout.
		get := wr.header[webReqMethod].Value == http.MethodGet
		retry := !written || get && errors.Is(err, errNoAnswer)
		if reused && retry && !streamed && ctx.Err() == nil {
			continue
		}
		closeStream()
		return err
	}
}

// waitToRedial reports, after the connection backoff, whether a call that
// found no address or could not connect tries again: only if it waits for
// ready (WaitForReady, or the service config's waitForReady), as a gRPC
// call waits for the balancer's connection, until its context ends.
func (h *http1Client) waitToRedial(hs *httpStream, err error, waits *int) bool {
	if !hs.ci.waitForReady || errors.Is(err, errClosing) || hs.ctx.Err() != nil {
		return false
	}
	*waits++
	return sleepCtx(hs.ctx, h.cc.backoffDelay(*waits))
}

// exchange writes the request on c and reads the response's head. written
// says whether any of the request may have reached the server.
func (h *http1Client) exchange(ctx context.Context, c *http1ClientConn, wr *webRequest, rb *http1RespBody) (bool, error) {
	// The context's end closes the connection: a blocked write or read
	// returns at once, and the connection, mid-exchange, is not reused.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = c.nc.Close() })
	}
	fail := func(err error) error {
		stop()
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		return h.drop(c, err)
	}
	body, streamed := wr.body, wr.stream != nil
	c.out = h.appendRequestHead(c.out[:0], wr, len(body), streamed)
	var n int64
	var err error
	if len(body) > bigBody {
		// A large body goes from where it is, with the head in one writev.
		n, err = (&net.Buffers{c.out, body}).WriteTo(c.nc)
	} else {
		c.out = append(c.out, body...)
		var wn int
		if c.aw != nil && !streamed {
			// The whole request, then the wait for the response, without
			// a read that fails first (http1_await_unix.go).
			wn, err = c.aw.writeThenAwait(c.out)
			if err == nil && wn < len(c.out) {
				var m int
				m, err = c.nc.Write(c.out[wn:])
				wn += m
			}
		} else {
			wn, err = c.nc.Write(c.out)
		}
		n = int64(wn)
	}
	if cap(c.out) > maxKeptBuffer {
		c.out = nil
	}
	if err != nil {
		return n > 0, fail(err)
	}
	if streamed {
		if err := c.writeChunked(wr.stream); err != nil {
			return true, fail(err)
		}
	}
	if err := c.readResponse(wr.header[webReqMethod].Value, rb); err != nil {
		return true, fail(err)
	}
	rb.stop = stop
	rb.pool = h
	return true, nil
}

// appendRequestHead adds the request line and header fields: the
// pseudo-header fields become the request line and Host, the others go as
// they are (lower case, which HTTP/1.1 reads as any other case).
func (h *http1Client) appendRequestHead(out []byte, wr *webRequest, n int, streamed bool) []byte {
	method := wr.header[webReqMethod].Value
	out = append(out, method...)
	out = append(out, ' ')
	out = append(out, wr.header[webReqPath].Value...)
	out = append(out, " HTTP/1.1\r\nhost: "...)
	out = append(out, h.cc.authority...)
	out = append(out, "\r\n"...)
	for _, f := range wr.header {
		switch f.Name {
		case "host", "content-length", "transfer-encoding", "connection":
			continue
		}
		if f.Name == "" || f.Name[0] == ':' {
			continue
		}
		out = append(out, f.Name...)
		out = append(out, ": "...)
		out = append(out, f.Value...)
		out = append(out, "\r\n"...)
	}
	switch {
	case streamed:
		out = append(out, "transfer-encoding: chunked\r\n"...)
	case n > 0 || method == http.MethodPost:
		out = append(out, "content-length: "...)
		out = strconv.AppendInt(out, int64(n), 10)
		out = append(out, "\r\n"...)
	}
	return append(out, "\r\n"...)
}

// writeChunked copies a streamed request body as chunks, one write per
// read, then ends it.
func (c *http1ClientConn) writeChunked(body io.ReadCloser) error {
	defer body.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			c.out = appendChunk(c.out[:0], buf[:n])
			if _, werr := c.nc.Write(c.out); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			_, werr := io.WriteString(c.nc, "0\r\n\r\n")
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// readResponse reads the response's head (skipping 1xx responses) into rb
// and frames its body; method is the request's.
func (c *http1ClientConn) readResponse(method string, rb *http1RespBody) error {
	for {
		c.head.raw, c.head.lines = c.head.raw[:0], c.head.lines[:0]
		if err := c.head.read(c.br, false); err != nil {
			if err == io.EOF {
				return errNoAnswer
			}
			if he := (*http1Error)(nil); errors.As(err, &he) {
				return fmt.Errorf("%w: %s", errHTTP1Response, he.reason)
			}
			return fmt.Errorf("%w: %w", errHTTP1Response, err)
		}
		// The response lives in its body's struct, with room for a few
		// header fields; that struct is the call's (httpStream.h1resp).
		*rb = http1RespBody{conn: c}
		if err := rb.parseHead(string(c.head.raw), c.head.lines); err != nil {
			return err
		}
		if rb.code >= 100 && rb.code < 200 {
			continue // 100 Continue and the like: the answer follows
		}
		kind, length, err := rb.framing(method)
		if err != nil {
			return err
		}
		rb.body.br = c.br
		rb.body.reset(kind, length)
		if kind == bodyChunked {
			rb.body.trailer = rb.addTrailer
		}
		rb.keep = kind != bodyUntilClose && !rb.close
		return nil
	}
}

// parseHead reads "HTTP/1.x NNN reason" and the fields, their names in
// lower case.
func (b *http1RespBody) parseHead(head string, lines []int) error {
	line := head[:lines[0]]
	version, rest, _ := strings.Cut(line, " ")
	codeStr, _, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeStr)
	if len(codeStr) != 3 || err != nil || code < 100 {
		return fmt.Errorf("%w: status line %q", errHTTP1Response, line)
	}
	b.code = code
	http10 := false
	switch version {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
	default:
		return fmt.Errorf("%w: version %q", errHTTP1Response, version)
	}
	b.header = b.fields[:0]
	start := lines[0]
	for _, end := range lines[1:] {
		name, value, ok := strings.Cut(head[start:end], ":")
		start = end
		if !ok || !isToken(name) {
			return fmt.Errorf("%w: header field %q", errHTTP1Response, name)
		}
		b.header = append(b.header, h2.HeaderField{Name: lowerName(name), Value: strings.Trim(value, " \t")})
	}
	conn := strings.ToLower(b.header.Get("connection"))
	b.close = strings.Contains(conn, "close") || http10 && !strings.Contains(conn, "keep-alive")
	return nil
}

// framing is how the response's body is delimited (RFC 9112 §6.3).
func (b *http1RespBody) framing(method string) (bodyKind, int64, error) {
	if b.code == http.StatusNoContent || b.code == http.StatusNotModified || method == http.MethodHead {
		return bodyNone, 0, nil
	}
	// Without collecting the values: a second Transfer-Encoding is refused,
	// and every Content-Length must say the same.
	var te, cl string
	nte, ncl, clConflict := 0, 0, false
	for _, f := range b.header {
		switch f.Name {
		case "transfer-encoding":
			te = f.Value
			nte++
		case "content-length":
			if ncl > 0 && f.Value != cl {
				clConflict = true
			}
			cl = f.Value
			ncl++
		}
	}
	if nte > 0 {
		if nte > 1 || !strings.EqualFold(te, "chunked") {
			return 0, 0, fmt.Errorf("%w: Transfer-Encoding %q (%d fields)", errHTTP1Response, te, nte)
		}
		return bodyChunked, 0, nil // chunked wins over any Content-Length (RFC 9112 §6.3)
	}
	if ncl > 0 {
		if !isContentLength(cl) || clConflict {
			return 0, 0, fmt.Errorf("%w: Content-Length %q (%d fields)", errHTTP1Response, cl, ncl)
		}
		n, _ := strconv.ParseInt(cl, 10, 64) // 18 digits always fit
		if n == 0 {
			return bodyNone, 0, nil
		}
		return bodyLength, n, nil
	}
	return bodyUntilClose, 0, nil
}

// http1RespBody is a response body on a pooled connection: read to its
// end, the connection goes back to the pool; closed before, it is closed.
type http1RespBody struct {
	conn    *http1ClientConn // nil once given back or closed
	pool    *http1Client
	code    int
	header  h2.Header         // names in lower case
	fields  [8]h2.HeaderField // the header's fields, when they fit
	trailer h2.Header         // a chunked body's, once it ended
	close   bool              // the server closes the connection after this response
	body    http1Body
	stop    func() bool // ends the context's watch; false if it fired
	keep    bool        // the connection may carry another exchange
}

func (b *http1RespBody) Read(p []byte) (int, error) {
	if b.conn == nil {
		return 0, errors.New("rpc: read of a closed response body")
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		_ = b.release(true, nil)
	} else if err != nil {
		if errors.Is(err, errChunked) {
			err = fmt.Errorf("%w: %w", errHTTP1Response, err)
		}
		err = b.release(false, err)
	}
	return n, err
}

func (b *http1RespBody) Close() error {
	if b.conn != nil {
		b.release(b.body.ended(), nil)
	}
	return nil
}

// release ends the exchange: the connection goes back to the pool when the
// body ended and nothing else ended it, else it is closed. It returns what
// the read that ended it should say instead of err.
func (b *http1RespBody) release(ended bool, err error) error {
	c := b.conn
	b.conn = nil
	if !b.stop() || !ended || !b.keep {
		return b.pool.drop(c, err)
	}
	b.pool.put(c)
	return err
}

// addTrailer adds a field of a chunked body's trailer section.
func (b *http1RespBody) addTrailer(name, value string) {
	b.trailer = append(b.trailer, h2.HeaderField{Name: lowerName(name), Value: value})
}
