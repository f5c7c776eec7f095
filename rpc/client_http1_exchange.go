package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// One exchange of WithHTTP1 (client_http1.go): the request written by
// hand, the response read without net/http, on a connection of the pool.

// errHTTP1Response is what every malformed response wraps.
var errHTTP1Response = errors.New("rpc: malformed HTTP/1.1 response")

// errNoAnswer: the server closed the connection before the first byte of
// a response.
var errNoAnswer = errors.New("rpc: the server closed the HTTP/1.1 connection without answering")

// Do makes the exchange; like sessionTransport, without http.Client's
// redirects and timers (calls have their own deadlines).
func (h *http1Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, streamed, err := requestBytes(req)
	if err != nil {
		return nil, err
	}
	for {
		addr, err := h.pickAddr(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		c, reused, err := h.get(ctx, addr)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, written, err := h.exchange(ctx, c, req, body, streamed)
		if err == nil {
			return resp, nil
		}
		// A request that never left may go again on a new connection: a
		// reused one may have been closed by the server meanwhile. So may a
		// GET (side-effect free by definition) the server closed its
		// connection on without a word, as it does at its idle timeout.
		retry := !written || req.Method == http.MethodGet && errors.Is(err, errNoAnswer)
		if reused && retry && !streamed && ctx.Err() == nil {
			continue
		}
		closeBody(req)
		return nil, err
	}
}

// requestBytes is the request's body when it is known whole (unary
// calls), or streamed (client streams: read as the caller writes).
func requestBytes(req *http.Request) (body []byte, streamed bool, err error) {
	switch b := req.Body.(type) {
	case nil:
		return nil, false, nil
	case *requestBody:
		return b.b, false, nil
	default:
		if req.GetBody != nil && req.ContentLength >= 0 {
			body, err := io.ReadAll(b)
			closeBody(req)
			return body, false, err
		}
		return nil, true, nil
	}
}

// exchange writes the request on c and reads the response's head. written
// says whether any of the request may have reached the server.
func (h *http1Client) exchange(ctx context.Context, c *http1ClientConn, req *http.Request, body []byte, streamed bool) (*http.Response, bool, error) {
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
	c.out = h.appendRequestHead(c.out[:0], req, len(body), streamed)
	var n int64
	var err error
	if len(body) > bigBody {
		// A large body goes from where it is, with the head in one writev.
		n, err = (&net.Buffers{c.out, body}).WriteTo(c.nc)
	} else {
		c.out = append(c.out, body...)
		var wn int
		wn, err = c.nc.Write(c.out)
		n = int64(wn)
	}
	if cap(c.out) > maxKeptBuffer {
		c.out = nil
	}
	if err != nil {
		return nil, n > 0, fail(err)
	}
	if streamed {
		if err := c.writeChunked(req.Body); err != nil {
			return nil, true, fail(err)
		}
	}
	resp, err := c.readResponse(req)
	if err != nil {
		return nil, true, fail(err)
	}
	resp.Body.(*http1RespBody).stop = stop
	resp.Body.(*http1RespBody).pool = h
	return resp, true, nil
}

// appendRequestHead adds the request line and header fields.
func (h *http1Client) appendRequestHead(out []byte, req *http.Request, n int, streamed bool) []byte {
	out = append(out, req.Method...)
	out = append(out, ' ')
	out = append(out, req.URL.RequestURI()...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, h.cc.authority...)
	out = append(out, "\r\n"...)
	for k, vs := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" {
			continue
		}
		for _, v := range vs {
			out = append(out, k...)
			out = append(out, ": "...)
			out = append(out, v...)
			out = append(out, "\r\n"...)
		}
	}
	switch {
	case streamed:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case n > 0 || req.Method == http.MethodPost:
		out = append(out, "Content-Length: "...)
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

// readResponse reads the response's head (skipping 1xx responses) and
// frames its body.
func (c *http1ClientConn) readResponse(req *http.Request) (*http.Response, error) {
	for {
		c.head.raw, c.head.lines = c.head.raw[:0], c.head.lines[:0]
		if err := c.head.read(c.br, false); err != nil {
			if err == io.EOF {
				return nil, errNoAnswer
			}
			if he := (*http1Error)(nil); errors.As(err, &he) {
				return nil, fmt.Errorf("%w: %s", errHTTP1Response, he.reason)
			}
			return nil, fmt.Errorf("%w: %w", errHTTP1Response, err)
		}
		// The response lives in its body's struct, with room for the
		// values of a few fields: one allocation for the three.
		rb := &http1RespBody{conn: c}
		resp := &rb.resp
		if err := rb.parseHead(string(c.head.raw), c.head.lines); err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue // 100 Continue and the like: the answer follows
		}
		resp.Request = req
		kind, length, err := responseFraming(resp)
		if err != nil {
			return nil, err
		}
		rb.body.br = c.br
		rb.body.reset(kind, length)
		if kind == bodyChunked {
			rb.body.trailer = rb.addTrailer
		}
		rb.keep = kind != bodyUntilClose && !resp.Close
		resp.Body = rb
		return resp, nil
	}
}

// parseHead reads "HTTP/1.x NNN reason" and the fields into b.resp.
func (b *http1RespBody) parseHead(head string, lines []int) error {
	line := head[:lines[0]]
	version, rest, _ := strings.Cut(line, " ")
	codeStr, _, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeStr)
	if len(codeStr) != 3 || err != nil || code < 100 {
		return fmt.Errorf("%w: status line %q", errHTTP1Response, line)
	}
	resp := &b.resp
	*resp = http.Response{Status: rest, StatusCode: code, Proto: version, ProtoMajor: 1, ContentLength: -1,
		Header: make(http.Header, len(lines))}
	switch version {
	case "HTTP/1.1":
		resp.ProtoMinor = 1
	case "HTTP/1.0":
	default:
		return fmt.Errorf("%w: version %q", errHTTP1Response, version)
	}
	// One backing array for every field's value: a name seen once (most)
	// takes a one-element slice of it, capped so that a second value of the
	// same name appends elsewhere.
	var values []string
	if n := len(lines) - 1; n > len(b.values) {
		values = make([]string, n)
	} else {
		values = b.values[:n]
	}
	start := lines[0]
	for i, end := range lines[1:] {
		name, value, ok := strings.Cut(head[start:end], ":")
		start = end
		if !ok || !isToken(name) {
			return fmt.Errorf("%w: header field %q", errHTTP1Response, name)
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		values[i] = strings.Trim(value, " \t")
		if vs, seen := resp.Header[key]; seen {
			resp.Header[key] = append(vs, values[i])
		} else {
			resp.Header[key] = values[i : i+1 : i+1]
		}
	}
	conn := strings.ToLower(resp.Header.Get("Connection"))
	resp.Close = strings.Contains(conn, "close") || resp.ProtoMinor == 0 && !strings.Contains(conn, "keep-alive")
	return nil
}

// responseFraming is how the response's body is delimited (RFC 9112 §6.3).
func responseFraming(resp *http.Response) (bodyKind, int64, error) {
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified ||
		resp.Request.Method == http.MethodHead {
		return bodyNone, 0, nil
	}
	if te := resp.Header.Get("Transfer-Encoding"); te != "" {
		if !strings.EqualFold(te, "chunked") || len(resp.Header["Transfer-Encoding"]) > 1 {
			return 0, 0, fmt.Errorf("%w: Transfer-Encoding %q", errHTTP1Response, te)
		}
		resp.Header.Del("Content-Length") // chunked wins (RFC 9112 §6.3)
		resp.TransferEncoding = []string{"chunked"}
		return bodyChunked, 0, nil
	}
	if cls := resp.Header["Content-Length"]; len(cls) > 0 {
		n, err := strconv.ParseInt(cls[0], 10, 64)
		if err != nil || n < 0 || len(cls) > 1 && cls[1] != cls[0] {
			return 0, 0, fmt.Errorf("%w: Content-Length %q", errHTTP1Response, cls)
		}
		resp.ContentLength = n
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
	conn   *http1ClientConn // nil once given back or closed
	pool   *http1Client
	resp   http.Response
	values [8]string // the header's values, when they fit
	body   http1Body
	stop   func() bool // ends the context's watch; false if it fired
	keep   bool        // the connection may carry another exchange
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

// addTrailer fills the response's Trailer from a chunked body's end.
func (b *http1RespBody) addTrailer(name, value string) {
	if b.resp.Trailer == nil {
		b.resp.Trailer = make(http.Header)
	}
	key := textproto.CanonicalMIMEHeaderKey(name)
	b.resp.Trailer[key] = append(b.resp.Trailer[key], value)
}
