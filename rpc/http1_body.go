package rpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// An HTTP/1.1 message body as it arrives (RFC 9112 §6-7), for the server's
// requests (server_http1.go) and the client's responses (client_http1.go):
// Content-Length bytes, chunked, or (responses only) everything until the
// connection closes. A body never reads past its own end, so the next
// message on the connection starts where it stopped.

// bodyUntilClose is a response body delimited by the connection's end.
const bodyUntilClose bodyKind = bodyChunked + 1

// errChunked is what every broken chunked framing wraps.
var errChunked = errors.New("rpc: malformed chunked body")

// maxChunkSizeDigits bounds a chunk size's hex digits, so that the size
// fits an int64 with room to spare.
const maxChunkSizeDigits = 15

// http1Body reads one message body from br. Reused from message to message.
type http1Body struct {
	br     *bufio.Reader
	kind   bodyKind
	remain int64 // bytes left: of the body (bodyLength) or of the current chunk
	inData bool  // chunked: between a chunk's size line and its data's end
	err    error // sticky: io.EOF at the end, or what broke the framing
	// beforeRead, when set, runs once before the first read that needs
	// bytes from the peer (the server's "100 Continue").
	beforeRead func()
	// trailer, when set, receives a chunked body's trailer fields, names in
	// lower case; without it they are read and dropped.
	trailer func(name, value string)
	// trailerBytes counts the trailer section against maxHTTP1Head.
	trailerBytes int
}

// reset starts a new body of the given framing.
func (b *http1Body) reset(kind bodyKind, length int64) {
	b.kind, b.remain, b.inData, b.err, b.trailerBytes = kind, length, false, nil, 0
	b.beforeRead, b.trailer = nil, nil
	if kind == bodyNone {
		b.err = io.EOF
	}
}

// buffered reports whether reading the rest of the body needs no bytes from
// the peer: it ended, or its bytes (a Content-Length body's) are in br.
func (b *http1Body) buffered() bool {
	return b.err != nil || b.kind == bodyLength && b.remain <= int64(b.br.Buffered())
}

// ended reports whether the body was read to its end.
func (b *http1Body) ended() bool { return b.err == io.EOF }

func (b *http1Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f := b.beforeRead; f != nil {
		b.beforeRead = nil
		f()
	}
	switch b.kind {
	case bodyLength:
		return b.readLength(p)
	case bodyChunked:
		return b.readChunked(p)
	default:
		n, err := b.br.Read(p)
		if err != nil {
			b.err = err
		}
		return n, err
	}
}

func (b *http1Body) readLength(p []byte) (int, error) {
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		b.err = io.EOF
		return n, nil // the next Read says EOF; this one's bytes are whole
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *http1Body) readChunked(p []byte) (int, error) {
	for !b.inData {
		if err := b.nextChunk(); err != nil {
			b.err = err
			if err == io.EOF {
				return 0, io.EOF
			}
			return 0, err
		}
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		// The data's CRLF, read now so that a body whose last chunk is
		// here ends without another read from the peer when possible.
		if cerr := b.chunkEnd(); cerr != nil {
			b.err = cerr
			return n, nil
		}
		b.inData = false
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// chunkEnd reads the CRLF that ends a chunk's data.
func (b *http1Body) chunkEnd() error {
	var crlf [2]byte
	if _, err := io.ReadFull(b.br, crlf[:]); err != nil {
		return unexpected(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%w: chunk data not followed by CRLF", errChunked)
	}
	return nil
}

// nextChunk reads a chunk-size line; at the last chunk (size 0), the
// trailer section, returning io.EOF. Chunk extensions are skipped.
func (b *http1Body) nextChunk() error {
	line, err := b.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return fmt.Errorf("%w: chunk-size line longer than %d bytes", errChunked, b.br.Size())
	}
	if err != nil {
		return unexpected(err)
	}
	line, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok {
		return fmt.Errorf("%w: chunk-size line not ended by CRLF", errChunked)
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 || len(line) > maxChunkSizeDigits {
		return fmt.Errorf("%w: chunk size %q", errChunked, line)
	}
	var size int64
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return fmt.Errorf("%w: chunk size %q", errChunked, line)
		}
		size = size<<4 | int64(d)
	}
	if size == 0 {
		if err := b.readTrailers(); err != nil {
			return err
		}
		return io.EOF
	}
	b.remain, b.inData = size, true
	return nil
}

// readTrailers reads the trailer section after the last chunk, up to its
// empty line, bounded as a request head is.
func (b *http1Body) readTrailers() error {
	for {
		line, err := b.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("%w: trailer line longer than %d bytes", errChunked, b.br.Size())
		}
		if err != nil {
			return unexpected(err)
		}
		b.trailerBytes += len(line)
		if b.trailerBytes > maxHTTP1Head {
			return fmt.Errorf("%w: trailers larger than %d bytes", errChunked, maxHTTP1Head)
		}
		line, ok := bytes.CutSuffix(line, []byte("\r\n"))
		if !ok || bytes.IndexByte(line, '\r') >= 0 {
			return fmt.Errorf("%w: trailer line not ended by CRLF", errChunked)
		}
		if len(line) == 0 {
			return nil
		}
		if b.trailer == nil {
			continue
		}
		s := string(line)
		if i := strings.IndexByte(s, ':'); i > 0 {
			s = strings.ToLower(s[:i]) + s[i:]
		}
		name, value, err := splitField(s)
		if err != nil {
			return fmt.Errorf("%w: %w", errChunked, err)
		}
		b.trailer(name, value)
	}
}

// unexpected turns the end of the connection inside a body into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
