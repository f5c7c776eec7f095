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
	last    int        // the previous message's payload size: the next buffer's guess
	hdr     [envelopeHeaderLen]byte
}

// framedReader is what *h2.Stream offers beyond io.Reader: a read that
// lands a whole message, prefix and payload, in one buffer.
type framedReader interface {
	ReadFramed(p []byte, need func(got []byte) int) (int, error)
}

// errNoCompression reports a compressed message sent without grpc-encoding.
var errNoCompression = errors.New("rpc: compressed message but no grpc-encoding was negotiated")

// next reads one message and returns its payload, which lives in the pooled
// buffer bp (the caller must putBuf it once done with the payload). io.EOF
// means the stream ended cleanly between messages; protocol errors are status
// errors (truncation INTERNAL, sizes beyond the limit RESOURCE_EXHAUSTED) and
// transport errors come back raw. The size is checked before the buffer
// grows to it and, for compressed messages, again while decompressing.
func (er *envelopeReader) next() (payload []byte, bp *[]byte, err error) {
	var flag byte
	if fr, ok := er.r.(framedReader); ok {
		bp, flag, err = er.readFramed(fr)
	} else {
		bp, flag, err = er.readSplit()
	}
	if err != nil {
		return nil, nil, err
	}
	payload = (*bp)[envelopeHeaderLen:]
	if flag == 0 {
		return payload, bp, nil
	}
	if er.decomp == nil {
		putBuf(bp)
		return nil, nil, status.Error(codes.Internal, errNoCompression.Error())
	}
	dp := getBuf(len(payload) * 2)
	d, err := er.decomp.Decompress(*dp, payload, er.maxSize)
	*dp = d
	putBuf(bp)
	if err != nil {
		putBuf(dp)
		if errors.Is(err, ErrMessageTooLarge) {
			return nil, nil, status.Errorf(codes.ResourceExhausted, "rpc: decompressed message exceeds the limit of %d bytes", er.maxSize)
		}
		return nil, nil, status.Errorf(codes.Internal, "rpc: decompressing message: %v", err)
	}
	return d, dp, nil
}

// needEnvelope is the framing rule ReadFramed follows: the prefix, then the
// length it announces. A length that is invalid or beyond any int asks for
// no more, so that the read returns and the header check reports it.
func needEnvelope(got []byte) int {
	if len(got) < envelopeHeaderLen {
		return envelopeHeaderLen
	}
	n := binary.BigEndian.Uint32(got[1:envelopeHeaderLen])
	if got[0] > 1 || uint64(n) > uint64(maxInt-envelopeHeaderLen) {
		return envelopeHeaderLen
	}
	return envelopeHeaderLen + int(n)
}

const maxInt = int(^uint(0) >> 1)

// readFramed reads a message into a buffer the size of the previous one, so
// that in a stream of like-sized messages each lands whole with one wake-up
// and one copy. A larger message grows the buffer once its size is known.
func (er *envelopeReader) readFramed(fr framedReader) (*[]byte, byte, error) {
	bp := getBuf(envelopeHeaderLen + min(er.last, er.maxSize))
	b := (*bp)[:cap(*bp)]
	n, err := fr.ReadFramed(b, needEnvelope)
	if n < envelopeHeaderLen {
		putBuf(bp)
		return nil, 0, er.cutShort(n, err, "reading message header")
	}
	flag, size, herr := er.checkHeader(b[:envelopeHeaderLen])
	if herr != nil {
		putBuf(bp)
		return nil, 0, herr
	}
	total := envelopeHeaderLen + size
	if err == nil && n < total {
		// It did not fit: move what arrived into a buffer that fits and
		// read the rest.
		nbp := getBuf(total)
		nb := (*nbp)[:total]
		copy(nb, b[:n])
		putBuf(bp)
		bp, b = nbp, nb
		var m int
		m, err = fr.ReadFramed(b[n:total], nil)
		n += m
	}
	if n < total {
		putBuf(bp)
		return nil, 0, er.cutShort(n, err, "reading message body")
	}
	er.last = size
	*bp = b[:total]
	return bp, flag, nil
}

// readSplit reads the prefix, then the payload, from a plain io.Reader.
func (er *envelopeReader) readSplit() (*[]byte, byte, error) {
	n, err := io.ReadFull(er.r, er.hdr[:])
	if err != nil {
		return nil, 0, er.cutShort(n, err, "reading message header")
	}
	flag, size, err := er.checkHeader(er.hdr[:])
	if err != nil {
		return nil, 0, err
	}
	bp := getBuf(envelopeHeaderLen + size)
	b := (*bp)[:envelopeHeaderLen+size]
	*bp = b
	copy(b, er.hdr[:])
	if m, err := io.ReadFull(er.r, b[envelopeHeaderLen:]); err != nil {
		putBuf(bp)
		return nil, 0, er.cutShort(envelopeHeaderLen+m, err, "reading message body")
	}
	return bp, flag, nil
}

// checkHeader validates a message prefix before anything is allocated for it.
func (er *envelopeReader) checkHeader(h []byte) (flag byte, size int, err error) {
	flag = h[0]
	n := binary.BigEndian.Uint32(h[1:])
	if flag > 1 {
		return 0, 0, status.Errorf(codes.Internal, "rpc: invalid message compression flag %d", flag)
	}
	if uint64(n) > uint64(er.maxSize) {
		return 0, 0, status.Errorf(codes.ResourceExhausted, "rpc: received message of %d bytes exceeds the limit of %d", n, er.maxSize)
	}
	return flag, int(n), nil
}

// cutShort turns a read that ended after n bytes of a message into the
// error to report: a clean io.EOF between messages, INTERNAL for a message
// cut short, or the transport's own error.
func (er *envelopeReader) cutShort(n int, err error, what string) error {
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		if n == 0 && err == io.EOF {
			er.eof = true
			return io.EOF
		}
		return status.Errorf(codes.Internal, "rpc: %s: stream ended mid-message", what)
	}
	return err
}
