package rpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
)

// Reading an HTTP/1.x request head (RFC 9112) for Serve's own HTTP/1.1
// (server_http1.go). Strict where leniency lets two parsers disagree on
// where a request ends (request smuggling): Transfer-Encoding with
// Content-Length, conflicting Content-Lengths, a Transfer-Encoding other than
// chunked, obs-fold, bare CR, whitespace before a field's colon. Everything
// that can grow is bounded: a line, the whole head, the number of fields.

const (
	// maxHTTP1Line bounds one line of a request head; it is also the size of
	// a connection's read buffer, which a line must fit.
	maxHTTP1Line = 8 << 10
	// maxHTTP1Head bounds a request's whole head (request line and fields),
	// as h2 bounds a header block (MaxHeaderListSize's order of magnitude).
	maxHTTP1Head = 64 << 10
	// maxHTTP1Fields bounds the number of header fields.
	maxHTTP1Fields = 256
)

// errHTTP1Request is what every malformed request wraps; *http1Error says
// which status answers it.
var errHTTP1Request = errors.New("rpc: malformed HTTP/1.x request")

// http1Error is a request refused before it reached a call: the status
// that answers it, and why.
type http1Error struct {
	code   int
	reason string
}

func (e *http1Error) Error() string {
	return fmt.Sprintf("%v: %d %s", errHTTP1Request, e.code, e.reason)
}

func (e *http1Error) Unwrap() error { return errHTTP1Request }

func badRequest(code int, format string, args ...any) error {
	return &http1Error{code: code, reason: fmt.Sprintf(format, args...)}
}

// bodyKind is how a request's body is framed.
type bodyKind uint8

const (
	bodyNone    bodyKind = iota // no body
	bodyLength                  // Content-Length bytes
	bodyChunked                 // Transfer-Encoding: chunked
)

// http1Request is one request head, parsed. It is reused from request to
// request on a connection.
type http1Request struct {
	// hdr is the request as the protocols read it: pseudo-header fields
	// first, names in lower case. It must be the call's own, not reused by
	// the next request: readHTTP1Request fills the room r.hdr has on entry,
	// or a new slice.
	hdr       h2.Header
	method    string
	minor     int // HTTP/1.minor
	body      bodyKind
	length    int64 // with bodyLength
	close     bool  // the connection ends after this exchange
	expect    bool  // Expect: 100-continue
	origin    string
	path      string // the request target, as ":path"
	authority string // from an absolute-form target, else Host
	keepAlive bool   // an HTTP/1.0 request asked for keep-alive
	hostSeen  bool
	head      http1Head
}

// http1Head is a message head's lines as read: its bytes, copied from the
// reader (the strings parsed from them point into one string made of
// them), and where each line ends. Reused from message to message.
type http1Head struct {
	raw   []byte
	lines []int
}

// readHTTP1Request reads and checks one request head from br, whose buffer
// must hold maxHTTP1Line bytes. scheme is the connection's ("http" or
// "https"). io.EOF means the connection ended cleanly before a request
// began; a *http1Error means the request must be refused (and the
// connection closed, as its framing cannot be trusted).
func readHTTP1Request(br *bufio.Reader, scheme string, r *http1Request) error {
	buf := r.hdr[:0] // the caller's room for this request's fields, if any
	*r = http1Request{head: http1Head{raw: r.head.raw[:0], lines: r.head.lines[:0]}}
	if err := r.head.read(br, true); err != nil {
		return err
	}
	// One string for the whole head: field names and values are slices of
	// it, so that a request costs one allocation for its text.
	head := string(r.head.raw)
	lines := r.head.lines
	r.hdr = buf
	if cap(buf) < 3+len(lines) {
		r.hdr = make(h2.Header, 0, 3+len(lines))
	}
	if err := r.parseRequestLine(head[:lines[0]]); err != nil {
		return err
	}
	r.hdr = append(r.hdr, h2.HeaderField{Name: ":method", Value: r.method}, h2.HeaderField{Name: ":scheme", Value: scheme},
		h2.HeaderField{Name: ":path", Value: r.path}, h2.HeaderField{Name: ":authority", Value: r.authority})
	var lengths []string
	var hopByHop string // Connection's other tokens: fields that are this hop's only
	start := lines[0]
	for _, end := range lines[1:] {
		name, value, err := splitField(head[start:end])
		start = end
		if err != nil {
			return err
		}
		switch name {
		case "host":
			if r.hostSeen {
				return badRequest(400, "more than one Host")
			}
			r.hostSeen = true
			if r.hdr[3].Value == "" {
				r.hdr[3].Value = value
			}
			continue
		case "content-length":
			lengths = append(lengths, value)
		case "transfer-encoding":
			if r.body == bodyChunked {
				return badRequest(400, "more than one Transfer-Encoding")
			}
			if !strings.EqualFold(value, "chunked") {
				return badRequest(501, "Transfer-Encoding %q is not supported", value)
			}
			r.body = bodyChunked
			continue
		case "connection":
			for tok := range strings.SplitSeq(value, ",") {
				switch tok = strings.ToLower(strings.TrimSpace(tok)); tok {
				case "close":
					r.close = true
				case "keep-alive":
					r.keepAlive = true
				case "":
				default:
					hopByHop += "," + tok
				}
			}
			continue
		case "keep-alive", "proxy-connection", "upgrade":
			continue // this hop's own: never metadata
		case "te":
			if !strings.EqualFold(value, "trailers") {
				continue
			}
		case "expect":
			if !strings.EqualFold(value, "100-continue") {
				return badRequest(417, "unsupported expectation %q", value)
			}
			r.expect = true
			continue
		case "origin":
			r.origin = value
		}
		r.hdr = append(r.hdr, h2.HeaderField{Name: name, Value: value})
	}
	if r.minor == 1 && !r.hostSeen {
		return badRequest(400, "HTTP/1.1 request without Host") // RFC 9112 §3.2
	}
	if r.minor == 0 {
		r.close = r.close || !r.keepAlive
		if r.body == bodyChunked {
			// HTTP/1.0 has no chunked coding: framing that the two ends
			// may read differently (RFC 9112 §6.1).
			return badRequest(400, "Transfer-Encoding in an HTTP/1.0 request")
		}
	}
	if err := r.setLength(lengths); err != nil {
		return err
	}
	if hopByHop != "" {
		r.dropNamed(hopByHop)
	}
	return nil
}

// maxLeadingEmptyLines bounds the empty lines accepted before a request
// line (RFC 9112 §2.2 asks servers to skip at least one, which clients add
// after a body).
const maxLeadingEmptyLines = 4

// read reads the lines of a head up to its empty line into h.raw, and
// where each line (without its end) ends into h.lines, the start line
// first. With lower, field names are lower-cased in place. A line is ended
// by LF with or without CR before it (RFC 9112 §2.2); a CR anywhere else is
// an error.
func (r *http1Head) read(br *bufio.Reader, lower bool) error {
	empty := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull {
				if len(r.lines) == 0 {
					return badRequest(414, "request line longer than %d bytes", maxHTTP1Line)
				}
				return badRequest(431, "header line longer than %d bytes", maxHTTP1Line)
			}
			if err == io.EOF && len(r.lines) == 0 && empty == 0 && len(line) == 0 {
				return io.EOF // the client closed between requests
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		line = line[:len(line)-1]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if bytes.IndexByte(line, '\r') >= 0 {
			return badRequest(400, "bare CR in the request head")
		}
		if len(line) == 0 {
			if len(r.lines) > 0 {
				return nil
			}
			if empty++; empty > maxLeadingEmptyLines {
				return badRequest(400, "empty lines instead of a request")
			}
			continue
		}
		if len(r.lines) > maxHTTP1Fields {
			return badRequest(431, "more than %d header fields", maxHTTP1Fields)
		}
		if len(r.raw)+len(line) > maxHTTP1Head {
			return badRequest(431, "request head larger than %d bytes", maxHTTP1Head)
		}
		if len(r.lines) > 0 {
			if line[0] == ' ' || line[0] == '\t' {
				// obs-fold: a continuation line, which RFC 9112 §5.2 lets a
				// server reject; folding differently from a proxy is how
				// fields get smuggled.
				return badRequest(400, "obsolete line folding")
			}
			for i, c := range line {
				if c == ':' || !lower {
					break
				}
				if c >= 'A' && c <= 'Z' {
					line[i] = c + 'a' - 'A'
				}
			}
		}
		r.raw = append(r.raw, line...)
		r.lines = append(r.lines, len(r.raw))
	}
}

// parseRequestLine reads "METHOD SP request-target SP HTTP/1.x".
func (r *http1Request) parseRequestLine(line string) error {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || target == "" || !isToken(method) {
		return badRequest(400, "malformed request line")
	}
	switch version {
	case "HTTP/1.1":
		r.minor = 1
	case "HTTP/1.0":
		r.minor = 0
	default:
		if strings.HasPrefix(version, "HTTP/") {
			return badRequest(505, "version %q not supported", version)
		}
		return badRequest(400, "malformed request line")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return badRequest(400, "malformed request target")
		}
	}
	r.method = method
	// The absolute form (RFC 9112 §3.2.2), which proxies send: its
	// authority wins over Host.
	for _, scheme := range [...]string{"http://", "https://"} {
		if rest, ok := strings.CutPrefix(target, scheme); ok {
			authority, path, _ := strings.Cut(rest, "/")
			r.authority = authority
			r.path = "/" + path
			return nil
		}
	}
	if target[0] != '/' && target != "*" {
		return badRequest(400, "malformed request target")
	}
	r.path = target
	return nil
}

// splitField splits "name: value", the name already in lower case.
func splitField(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok || name == "" || !isToken(name) {
		// Whitespace before the colon is refused as well (RFC 9112 §5.1).
		return "", "", badRequest(400, "malformed header field")
	}
	value = strings.Trim(value, " \t")
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return "", "", badRequest(400, "control character in header field %q", name)
		}
	}
	return name, value, nil
}

// setLength settles the body's framing from the Content-Length values seen.
func (r *http1Request) setLength(lengths []string) error {
	if len(lengths) == 0 {
		return nil
	}
	if r.body == bodyChunked {
		// Both: the framings disagree, the classic smuggling set-up; RFC
		// 9112 §6.1 lets a server refuse, and we do.
		return badRequest(400, "both Content-Length and Transfer-Encoding")
	}
	for _, v := range lengths[1:] {
		if v != lengths[0] {
			return badRequest(400, "conflicting Content-Length values")
		}
	}
	v := lengths[0]
	if !isContentLength(v) {
		return badRequest(400, "malformed Content-Length")
	}
	n, _ := strconv.ParseInt(v, 10, 64) // 18 digits always fit
	if n > 0 {
		r.body, r.length = bodyLength, n
	}
	return nil
}

// dropNamed removes the fields a Connection header named (tokens after
// commas in list): they are meant for this hop only.
func (r *http1Request) dropNamed(list string) {
	out := r.hdr[:4]
	for _, f := range r.hdr[4:] {
		if !strings.Contains(list+",", ","+f.Name+",") {
			out = append(out, f)
		}
	}
	r.hdr = out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

// isContentLength reports whether v is a Content-Length value we accept: 1
// to 18 decimal digits (so it fits an int64), no sign, no spaces, which
// strconv.ParseInt alone would let through ("+5").
func isContentLength(v string) bool {
	if v == "" || len(v) > 18 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return false
		}
	}
	return true
}
