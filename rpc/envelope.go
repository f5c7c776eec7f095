package rpc

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// A gRPC message on the wire is a 5-byte prefix (1 byte compressed flag,
// 4 bytes big-endian length) followed by the payload.
const envelopeHeaderLen = 5

// Default limits, the same as other gRPC implementations so that peers agree.
const (
	defaultMaxRecvMsgSize = 4 << 20
	defaultMaxSendMsgSize = 1<<31 - 1
)

// encodeMessage marshals v into a pooled buffer with the envelope prefix in
// front. When comp is non-nil the payload is compressed (into a second
// pooled buffer). maxSend bounds the payload as it goes on the wire.
// The caller must putBuf the result.
func encodeMessage(codec Codec, comp Compressor, v any, maxSend int) (*[]byte, error) {
	var b []byte
	var err error
	var bp *[]byte
	size := -1
	sc, sized := codec.(sizedCodec)
	if sized {
		size = sc.Size(v)
	}
	if size >= 0 {
		bp = getBuf(envelopeHeaderLen + size)
		b, err = sc.MarshalSized(append(*bp, 0, 0, 0, 0, 0), v)
	} else {
		bp = getBuf(512)
		b, err = codec.Marshal(append(*bp, 0, 0, 0, 0, 0), v)
	}
	*bp = b
	if err != nil {
		putBuf(bp)
		return nil, status.Errorf(codes.Internal, "rpc: marshaling message: %v", err)
	}
	if comp != nil {
		cp := getBuf(len(b))
		c := append(*cp, 1, 0, 0, 0, 0)
		c, err = comp.Compress(c, b[envelopeHeaderLen:])
		*cp = c
		putBuf(bp)
		if err != nil {
			putBuf(cp)
			return nil, status.Errorf(codes.Internal, "rpc: compressing message: %v", err)
		}
		bp, b = cp, c
	}
	n := len(b) - envelopeHeaderLen
	if n > maxSend || uint64(n) > 1<<32-1 {
		putBuf(bp)
		return nil, status.Errorf(codes.ResourceExhausted, "rpc: message of %d bytes exceeds the send limit of %d", n, maxSend)
	}
	binary.BigEndian.PutUint32(b[1:5], uint32(n))
	return bp, nil
}

// envelopeReader reads enveloped messages from a stream. It lives inside the
// per-stream state so it costs no allocation of its own.
type envelopeReader struct {
	r       io.Reader
	maxSize int
	decomp  Compressor // from grpc-encoding; nil means identity
	eof     bool       // the stream ended cleanly between messages
	hdr     [envelopeHeaderLen]byte
}

// errNoCompression reports a compressed message sent without grpc-encoding.
var errNoCompression = errors.New("rpc: compressed message but no grpc-encoding was negotiated")

// next reads one message and returns its payload in a pooled buffer (the
// caller must putBuf it). io.EOF means the stream ended cleanly between
// messages; protocol errors are status errors (truncation INTERNAL, sizes
// beyond the limit RESOURCE_EXHAUSTED) and transport errors come back raw. The size is
// checked before allocating and, for compressed messages, again while
// decompressing.
func (er *envelopeReader) next() (*[]byte, error) {
	if _, err := io.ReadFull(er.r, er.hdr[:]); err != nil {
		if err == io.EOF {
			er.eof = true
			return nil, io.EOF
		}
		return nil, readError(err, "reading message header")
	}
	flag := er.hdr[0]
	n := binary.BigEndian.Uint32(er.hdr[1:])
	if flag > 1 {
		return nil, status.Errorf(codes.Internal, "rpc: invalid message compression flag %d", flag)
	}
	if uint64(n) > uint64(er.maxSize) {
		return nil, status.Errorf(codes.ResourceExhausted, "rpc: received message of %d bytes exceeds the limit of %d", n, er.maxSize)
	}
	bp := getBuf(int(n))
	b := (*bp)[:n]
	*bp = b
	if _, err := io.ReadFull(er.r, b); err != nil {
		putBuf(bp)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, readError(err, "reading message body")
	}
	if flag == 0 {
		return bp, nil
	}
	if er.decomp == nil {
		putBuf(bp)
		return nil, status.Error(codes.Internal, errNoCompression.Error())
	}
	dp := getBuf(int(n) * 2)
	d, err := er.decomp.Decompress(*dp, b, er.maxSize)
	*dp = d
	putBuf(bp)
	if err != nil {
		putBuf(dp)
		if errors.Is(err, ErrMessageTooLarge) {
			return nil, status.Errorf(codes.ResourceExhausted, "rpc: decompressed message exceeds the limit of %d bytes", er.maxSize)
		}
		return nil, status.Errorf(codes.Internal, "rpc: decompressing message: %v", err)
	}
	return dp, nil
}

// readError reports a failed read: a message cut short is INTERNAL; any
// other transport error is returned as is, so the caller can still see what
// h2 said (a refused stream is safe to retry) before mapping it to a status.
func readError(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return status.Errorf(codes.Internal, "rpc: %s: stream ended mid-message", what)
	}
	return err
}
