package rpc

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// A gRPC message on the wire is a 5-byte prefix (1 byte compressed flag,
// 4 bytes big-endian length) followed by the payload.
const envelopeHeaderLen = 5

// maxFrameSize is the SETTINGS_MAX_FRAME_SIZE both ends advertise. A peer
// that uses it (h2rpc does, when a stream has the connection to itself) sends
// a large message in few frames, and our reader lands each one in the message
// buffer straight from the connection (h2.Stream.ReadFramedInPlace): one copy
// of the payload fewer. Peers that keep to 16 KiB frames lose nothing.
const maxFrameSize = 1 << 20

// Default limits, the same as other gRPC implementations so that peers agree.
const (
	defaultMaxRecvMsgSize = 4 << 20
	defaultMaxSendMsgSize = 1<<31 - 1
)

// encodeMessage marshals v into a pooled buffer with the envelope prefix in
// front. When comp is non-nil the payload is compressed (into a second
// pooled buffer) unless it is smaller than compressMin bytes: compressing a
// few bytes costs more than it saves, and the flag says which it is.
// maxSend bounds the payload as it goes on the wire.
// The caller must return the result to sendBufs.
func encodeMessage(codec Codec, comp Compressor, v any, maxSend, compressMin int) (*[]byte, error) {
	var b []byte
	var err error
	var bp *[]byte
	size := -1
	sc, sized := codec.(sizedCodec)
	if sized {
		size = sc.Size(v)
	}
	if size >= 0 {
		bp = sendBufs.get(envelopeHeaderLen + size)
		b, err = sc.MarshalSized(append(*bp, 0, 0, 0, 0, 0), v)
	} else {
		bp = sendBufs.get(512)
		b, err = codec.Marshal(append(*bp, 0, 0, 0, 0, 0), v)
	}
	*bp = b
	if err != nil {
		sendBufs.put(bp)
		return nil, status.Errorf(codes.Internal, "rpc: marshaling message: %v", err)
	}
	if comp != nil && len(b)-envelopeHeaderLen >= compressMin {
		cp := sendBufs.get(len(b))
		c := append(*cp, 1, 0, 0, 0, 0)
		c, err = comp.Compress(c, b[envelopeHeaderLen:])
		*cp = c
		sendBufs.put(bp)
		if err != nil {
			sendBufs.put(cp)
			return nil, status.Errorf(codes.Internal, "rpc: compressing message: %v", err)
		}
		bp, b = cp, c
	}
	n := len(b) - envelopeHeaderLen
	if n > maxSend || uint64(n) > 1<<32-1 {
		sendBufs.put(bp)
		return nil, status.Errorf(codes.ResourceExhausted, "rpc: message of %d bytes exceeds the send limit of %d", n, maxSend)
	}
	binary.BigEndian.PutUint32(b[1:5], uint32(n))
	return bp, nil
}

// envelopeReader reads enveloped messages from a stream. It lives inside the
// per-stream state so it costs no allocation of its own.
type envelopeReader struct {
	r       framedReader
	maxSize int
	decomp  Compressor // from grpc-encoding; nil means identity
	// ended: the stream ended cleanly between messages, or ends right after
	// the last message read; from then on reads return io.EOF at once.
	ended bool
	// endFlag is the flag bit of the envelope that ends a response in the
	// protocols that put their status in the body (gRPC-Web 0x80, Connect
	// streaming 0x02); 0 for gRPC, which has none.
	endFlag byte
	last    int     // the previous message's payload size: the next buffer's guess
	wire    int     // the last message's size on the wire, prefix included, for stats events
	probe   [1]byte // expectEnd's buffer: a field, as a local would escape
}

// framedReader is the read *h2.Stream offers for framed protocols: it lands
// a whole message, prefix and payload, in one buffer with one wake-up. The
// in-place variant may also fill the buffer straight from the connection
// (large frames), which is why a buffer is let go after a failed read.
type framedReader interface {
	ReadFramed(p []byte, need func(got []byte) int) (int, error)
	ReadFramedInPlace(p []byte, need func(got []byte) int) (int, error)
}

// bufferTaker is what *h2.Stream adds to framedReader: a message that is
// already buffered in the stream whole is handed over in the stream's own
// buffer rather than copied into one of ours.
type bufferTaker interface {
	TakeFramed(need func(got []byte) int) (h2.Buffer, error)
	Take(n int) (h2.Buffer, error)
}

// msgBuf is the memory a received message lives in: a buffer of recvBufs, or
// a stream buffer h2 handed over. release gives it back to its pool.
type msgBuf struct {
	pooled *[]byte
	taken  h2.Buffer
}

func (m *msgBuf) release() {
	recvBufs.put(m.pooled)
	m.pooled = nil
	m.taken.Release()
}

// release returns a message buffer to its pool after a read that ended with
// err, unless the read failed: then the session may still be writing a frame
// into it (ReadFramedInPlace), and the garbage collector takes it instead.
func release(bp *[]byte, err error) {
	if err == nil || err == io.EOF {
		recvBufs.put(bp)
	}
}

// errSecondMessage: a message arrived where the stream had to end.
var errSecondMessage = errors.New("rpc: a second message where one was expected")

// errNoCompression reports a compressed message sent without grpc-encoding.
var errNoCompression = errors.New("rpc: compressed message but no grpc-encoding was negotiated")

// next reads one message and returns its payload, which lives in mb (the
// caller must release it once done with the payload). io.EOF means the
// stream ended cleanly between messages; protocol errors are status errors
// (truncation INTERNAL, sizes beyond the limit RESOURCE_EXHAUSTED) and
// transport errors come back raw. The size is checked as soon as the prefix
// is in, before the buffer grows to it, and, for compressed messages, again
// while decompressing.
func (er *envelopeReader) next() (payload []byte, mb msgBuf, err error) {
	tk, _ := er.r.(bufferTaker)
	payload, mb, flag, err := er.readMsg(tk)
	if err != nil {
		return nil, msgBuf{}, err
	}
	er.wire = envelopeHeaderLen + len(payload)
	if flag == 0 {
		return payload, mb, nil
	}
	d, dp, err := er.decompressInto(payload)
	mb.release()
	if err != nil {
		return nil, msgBuf{}, err
	}
	return d, msgBuf{pooled: dp}, nil
}

// decompress returns the decompressed form of payload, which lives in bp
// (given back to its pool), in a pooled buffer of its own.
func (er *envelopeReader) decompress(payload []byte, bp *[]byte) ([]byte, *[]byte, error) {
	d, dp, err := er.decompressInto(payload)
	recvBufs.put(bp)
	return d, dp, err
}

// decompressInto decompresses payload into a buffer of recvBufs.
func (er *envelopeReader) decompressInto(payload []byte) ([]byte, *[]byte, error) {
	if er.decomp == nil {
		return nil, nil, status.Error(codes.Internal, errNoCompression.Error())
	}
	dp := recvBufs.get(len(payload) * 2)
	d, err := er.decomp.Decompress(*dp, payload, er.maxSize)
	*dp = d
	if err != nil {
		recvBufs.put(dp)
		if errors.Is(err, ErrMessageTooLarge) {
			return nil, nil, status.Errorf(codes.ResourceExhausted, "rpc: decompressed message exceeds the limit of %d bytes", er.maxSize)
		}
		return nil, nil, status.Errorf(codes.Internal, "rpc: decompressing message: %v", err)
	}
	return d, dp, nil
}

// needEnvelope is the framing rule ReadFramed follows: the prefix, then the
// length it announces. A message that will not fit the buffer (cap(got) is
// the buffer's length, which read caps at the size limit) asks for its prefix
// only, so that the read returns at once for the size check or to grow the
// buffer, and the payload stays buffered in the stream meanwhile.
func needEnvelope(got []byte) int {
	if len(got) < envelopeHeaderLen {
		return envelopeHeaderLen
	}
	n := uint64(binary.BigEndian.Uint32(got[1:envelopeHeaderLen]))
	if n > uint64(cap(got)-envelopeHeaderLen) {
		return envelopeHeaderLen
	}
	return envelopeHeaderLen + int(n)
}

// needWhole is the framing rule for taking a buffered message: the prefix,
// then all the length it announces. The size limit is checked once the
// message is taken (the stream holds its bytes either way).
func needWhole(got []byte) int {
	if len(got) < envelopeHeaderLen {
		return envelopeHeaderLen
	}
	return envelopeHeaderLen + int(binary.BigEndian.Uint32(got[1:envelopeHeaderLen]))
}

// read reads a message, prefix included, into a pooled buffer; for readers
// that hand over no buffers of their own (the HTTP clients).
func (er *envelopeReader) read() (*[]byte, byte, error) {
	_, mb, flag, err := er.readMsg(nil)
	return mb.pooled, flag, err
}

// readMsg reads a message and returns its payload and flag. From a stream
// that holds the message whole already (tk, a request that arrived with its
// headers, a response that came in one frame), the stream's buffer is taken
// as it is. Otherwise the message is read into a buffer the size of the
// previous one, so that in a stream of like-sized messages each lands whole
// with one wake-up and one copy; a larger message grows the buffer once its
// prefix is in, or, if the rest of it has arrived by then, is taken.
// Without tk, mb.pooled holds the message with its prefix.
func (er *envelopeReader) readMsg(tk bufferTaker) (payload []byte, mb msgBuf, flag byte, err error) {
	if er.ended {
		return nil, msgBuf{}, 0, io.EOF
	}
	if wt, ok := er.r.(wholeTaker); ok {
		if bp, took, err := wt.takeWhole(); took {
			return er.takenWhole(bp, err)
		}
	}
	if tk != nil {
		b, terr := tk.TakeFramed(needWhole)
		if u := b.Bytes(); u != nil {
			flag, size, herr := er.checkHeader(u[:envelopeHeaderLen])
			if herr != nil {
				b.Release()
				return nil, msgBuf{}, 0, herr
			}
			er.last = size
			er.ended = terr == io.EOF
			return u[envelopeHeaderLen:], msgBuf{taken: b}, flag, nil
		}
	}
	bp := recvBufs.get(envelopeHeaderLen + min(er.last, er.maxSize))
	b := (*bp)[:min(cap(*bp), envelopeHeaderLen+er.maxSize)]
	n, err := er.r.ReadFramedInPlace(b, needEnvelope)
	if n < envelopeHeaderLen {
		release(bp, err)
		return nil, msgBuf{}, 0, er.cutShort(n, err, "reading message header")
	}
	flag, size, herr := er.checkHeader(b[:envelopeHeaderLen])
	if herr != nil {
		release(bp, err)
		return nil, msgBuf{}, 0, herr
	}
	total := envelopeHeaderLen + size
	if err == nil && n < total {
		if tk != nil && n == envelopeHeaderLen {
			if t, terr := tk.Take(size); t.Bytes() != nil {
				recvBufs.put(bp)
				er.last = size
				er.ended = terr == io.EOF
				return t.Bytes(), msgBuf{taken: t}, flag, nil
			}
		}
		// It did not fit: a buffer that fits, and the rest of the message.
		nbp := recvBufs.get(total)
		nb := (*nbp)[:total]
		copy(nb, b[:n])
		recvBufs.put(bp)
		bp, b = nbp, nb
		var m int
		m, err = er.r.ReadFramedInPlace(b[n:total], nil)
		n += m
	}
	if n < total {
		release(bp, err)
		return nil, msgBuf{}, 0, er.cutShort(n, err, "reading message body")
	}
	er.last = size
	er.ended = err == io.EOF
	*bp = b[:total]
	return b[envelopeHeaderLen:total], msgBuf{pooled: bp}, flag, nil
}

// wholeTaker is a reader whose one message, a Connect unary body, is read
// whole into a pooled buffer with its envelope prefix (unaryBody): the
// message is that buffer, not a copy of it in another.
type wholeTaker interface {
	// takeWhole returns the message with its prefix and the end of the
	// body after it; ok is false when the reader cannot hand it over so.
	takeWhole() (bp *[]byte, ok bool, err error)
}

// takenWhole is readMsg's result for a message a wholeTaker handed over.
func (er *envelopeReader) takenWhole(bp *[]byte, err error) ([]byte, msgBuf, byte, error) {
	if err != nil {
		return nil, msgBuf{}, 0, err
	}
	b := *bp
	flag, size, herr := er.checkHeader(b[:envelopeHeaderLen])
	if herr != nil {
		recvBufs.put(bp)
		return nil, msgBuf{}, 0, herr
	}
	er.last = size
	er.ended = true // the body ends with its one message
	return b[envelopeHeaderLen:], msgBuf{pooled: bp}, flag, nil
}

// expectEnd checks that no message follows (a unary request): the stream
// must end here. It needs no message buffer, only room for one byte.
func (er *envelopeReader) expectEnd() error {
	if er.ended {
		return io.EOF
	}
	n, err := er.r.ReadFramed(er.probe[:], nil)
	switch {
	case n > 0:
		return errSecondMessage
	case err == io.EOF:
		er.ended = true
		return io.EOF
	}
	return err
}

// checkHeader validates a message prefix before anything is allocated for it.
func (er *envelopeReader) checkHeader(h []byte) (flag byte, size int, err error) {
	flag = h[0]
	n := binary.BigEndian.Uint32(h[1:])
	if flag > 1 && (er.endFlag == 0 || flag&^1 != er.endFlag) {
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
	if err == nil || err == io.EOF {
		if n == 0 && err == io.EOF {
			er.ended = true
			return io.EOF
		}
		return status.Errorf(codes.Internal, "rpc: %s: stream ended mid-message", what)
	}
	return err
}
