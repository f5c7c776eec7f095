package rpc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Compressor compresses whole messages. Implementations must be safe for
// concurrent use. Register custom ones with RegisterCompressor before any
// client or server starts.
type Compressor interface {
	// Name is the grpc-encoding token, e.g. "gzip".
	Name() string
	// Compress appends the compressed form of src to dst.
	Compress(dst, src []byte) ([]byte, error)
	// Decompress appends the decompressed form of src to dst, failing with
	// ErrMessageTooLarge (wrapped) as soon as the output would exceed max
	// bytes, so a small bomb cannot make us allocate a huge buffer.
	Decompress(dst, src []byte, max int) ([]byte, error)
}

// ErrMessageTooLarge is returned (wrapped) when a message exceeds a size limit.
var ErrMessageTooLarge = errors.New("rpc: message larger than the limit")

var (
	compMu     sync.RWMutex
	compressor = map[string]Compressor{"gzip": gzipCompressor{}}
	// acceptEncoding is the grpc-accept-encoding value we advertise,
	// rebuilt on registration so the hot path reads a plain string.
	acceptEncoding = "gzip"
)

// RegisterCompressor makes c available under c.Name() to clients
// (UseCompressor) and servers (which answer in the client's encoding). It
// panics when the name is "identity" or not a lower-case token (letters,
// digits, -._): it goes into grpc-encoding headers, which may carry nothing
// else.
func RegisterCompressor(c Compressor) {
	name := c.Name()
	if name == "identity" || !validSubtype(name) {
		panic(fmt.Sprintf("rpc: invalid compressor name %q", name))
	}
	compMu.Lock()
	defer compMu.Unlock()
	compressor[name] = c
	names := make([]string, 0, len(compressor))
	for n := range compressor {
		names = append(names, n)
	}
	acceptEncoding = strings.Join(names, ",")
}

// GetCompressor returns the compressor registered under name, or nil.
func GetCompressor(name string) Compressor {
	compMu.RLock()
	defer compMu.RUnlock()
	return compressor[name]
}

func acceptEncodingHeader() string {
	compMu.RLock()
	defer compMu.RUnlock()
	return acceptEncoding
}

// gzipCompressor pools its writers and readers: a gzip.Writer holds ~800 KiB
// of state that is costly to allocate per message.
type gzipCompressor struct{}

var (
	gzipWriters sync.Pool
	gzipReaders sync.Pool
)

func (gzipCompressor) Name() string { return "gzip" }

// appendWriter lets gzip write straight into a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (gzipCompressor) Compress(dst, src []byte) ([]byte, error) {
	aw := &appendWriter{b: dst}
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(aw)
	} else {
		zw.Reset(aw)
	}
	if _, err := zw.Write(src); err != nil {
		return dst, err
	}
	if err := zw.Close(); err != nil {
		return dst, err
	}
	zw.Reset(io.Discard) // drop the reference to aw before pooling
	gzipWriters.Put(zw)
	return aw.b, nil
}

func (gzipCompressor) Decompress(dst, src []byte, max int) ([]byte, error) {
	br := bytes.NewReader(src)
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(br)
	} else {
		err = zr.Reset(br)
	}
	if err != nil {
		return dst, fmt.Errorf("rpc: gzip: %w", err)
	}
	defer gzipReaders.Put(zr)
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := zr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > max {
			return dst, fmt.Errorf("%w: decompressed size exceeds %d bytes", ErrMessageTooLarge, max)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, fmt.Errorf("rpc: gzip: %w", err)
		}
	}
}
