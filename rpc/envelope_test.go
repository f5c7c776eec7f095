package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func frame(flag byte, payload []byte) []byte {
	b := []byte{flag, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	return append(b, payload...)
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, comp := range []Compressor{nil, GetCompressor("gzip")} {
		msg := wrapperspb.String(string(bytes.Repeat([]byte("abc"), 1000)))
		bp, err := encodeMessage(ProtoCodec, comp, msg, defaultMaxSendMsgSize, 0)
		require.NoError(t, err)
		wire := append([]byte(nil), *bp...)
		sendBufs.put(bp)
		if comp != nil {
			require.Equal(t, byte(1), wire[0])
			require.Less(t, len(wire), 500, "gzip should shrink a repetitive message")
		} else {
			require.Equal(t, byte(0), wire[0])
		}
		for name, r := range readers(append(wire, wire...)) {
			er := envelopeReader{r: r, maxSize: defaultMaxRecvMsgSize, decomp: comp}
			for range 2 {
				payload, pp, err := er.next()
				require.NoError(t, err, name)
				var got wrapperspb.StringValue
				require.NoError(t, proto.Unmarshal(payload, &got), name)
				pp.release()
				require.True(t, proto.Equal(msg, &got), name)
			}
			_, _, err = er.next()
			require.Equal(t, io.EOF, err, name)
		}
	}
}

// readers returns in behind framed readers (like *h2.Stream) that deliver
// it in chunks of various sizes, as DATA frames would.
func readers(in []byte) map[string]*framedBytes {
	m := map[string]*framedBytes{}
	for _, chunk := range []int{1, 7, 4096} {
		m[fmt.Sprintf("framed/%d", chunk)] = &framedBytes{in: in, chunk: chunk}
	}
	return m
}

// framedBytes follows ReadFramed's contract over a byte slice, delivering at
// most chunk bytes per step as DATA frames would; the last unit comes with
// io.EOF, as h2's does when END_STREAM is in.
type framedBytes struct {
	in    []byte
	chunk int
	reads int
}

func (f *framedBytes) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	f.reads++
	got := 0
	for {
		want := len(p)
		if need != nil {
			want = min(want, need(p[:got:len(p)]))
		}
		if got >= want {
			if got > 0 && len(f.in) == 0 {
				return got, io.EOF
			}
			return got, nil
		}
		if len(f.in) == 0 {
			return got, io.EOF
		}
		n := copy(p[got:want], f.in[:min(len(f.in), f.chunk)])
		f.in = f.in[n:]
		got += n
	}
}

func (f *framedBytes) ReadFramedInPlace(p []byte, need func([]byte) int) (int, error) {
	return f.ReadFramed(p, need)
}

// lendingReader ends every read with err, and remembers the buffer it was
// lent, as a stream failing under a ReadFramedInPlace would.
type lendingReader struct {
	err  error
	lent []byte
}

func (r *lendingReader) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	return r.ReadFramedInPlace(p, need)
}

func (r *lendingReader) ReadFramedInPlace(p []byte, _ func([]byte) int) (int, error) {
	r.lent = p
	return 0, r.err
}

// A read that fails lets its buffer go: the session may still be filling it
// from the connection. A read that ends cleanly gives it back to the pool.
func TestFailedReadLetsItsBufferGo(t *testing.T) {
	const size = 300 << 10 // a large class: its free list is a FIFO
	sameArray := func(a, b []byte) bool { return &a[:1][0] == &b[:1][0] }
	for _, tc := range []struct {
		err    error
		pooled bool
	}{{errors.New("stream reset"), false}, {io.EOF, true}} {
		recvBufs.free.Empty()
		r := &lendingReader{err: tc.err}
		er := envelopeReader{r: r, maxSize: 1 << 20, last: size}
		_, _, err := er.next()
		require.ErrorIs(t, err, tc.err)
		bp := recvBufs.get(envelopeHeaderLen + size)
		require.Equal(t, tc.pooled, sameArray(*bp, r.lent), "after %v", tc.err)
	}
}

func TestOversizedMessageFailsAtItsPrefix(t *testing.T) {
	// The limit is checked once the prefix is in: the reader does not wait
	// for (or buffer) the payload of a message it will refuse.
	body := make([]byte, 11)
	for name, r := range readers(frame(0, body)) {
		er := envelopeReader{r: r, maxSize: 10}
		_, _, err := er.next()
		require.Equal(t, codes.ResourceExhausted, status.Code(err), name)
		require.Len(t, r.in, len(body), "%s: the payload was read", name)
	}
}

func TestExpectEnd(t *testing.T) {
	for name, r := range readers(nil) {
		er := envelopeReader{r: r, maxSize: 10}
		require.Equal(t, io.EOF, er.expectEnd(), name)
		require.True(t, er.ended, name)
	}
	for name, r := range readers(frame(0, []byte("x"))) {
		er := envelopeReader{r: r, maxSize: 10}
		require.Equal(t, errSecondMessage, er.expectEnd(), name)
	}
}

// TestLastMessageWithEOFNeedsNoMoreReads: once a message came with io.EOF,
// the end is known: neither next nor expectEnd reads the stream again.
func TestLastMessageWithEOFNeedsNoMoreReads(t *testing.T) {
	for _, end := range []func(*envelopeReader) error{
		func(er *envelopeReader) error { _, _, err := er.next(); return err },
		(*envelopeReader).expectEnd,
	} {
		f := &framedBytes{in: frame(0, []byte("only")), chunk: 1 << 20}
		er := envelopeReader{r: f, maxSize: 1 << 20}
		payload, bp, err := er.next()
		require.NoError(t, err)
		require.Equal(t, "only", string(payload))
		bp.release()
		require.Equal(t, io.EOF, end(&er))
		require.True(t, er.ended)
		require.Equal(t, 1, f.reads, "the end was known from the message's read")
	}
}

func TestFramedReadGrowsPastTheGuess(t *testing.T) {
	small, big := frame(0, []byte("hi")), frame(0, bytes.Repeat([]byte{7}, 100000))
	f := &framedBytes{in: slices.Concat(small, big, small), chunk: 1 << 20}
	er := envelopeReader{r: f, maxSize: 1 << 20}
	for _, want := range [][]byte{small, big, small} {
		payload, bp, err := er.next()
		require.NoError(t, err)
		require.Equal(t, want[envelopeHeaderLen:], payload)
		bp.release()
	}
	_, _, err := er.next()
	require.Equal(t, io.EOF, err)
}

func TestEncodeLimits(t *testing.T) {
	_, err := encodeMessage(ProtoCodec, nil, wrapperspb.String("0123456789"), 5, 0)
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	_, err = encodeMessage(ProtoCodec, nil, "not a proto", 100, 0)
	require.Equal(t, codes.Internal, status.Code(err))
	// An empty message is a valid zero-length payload.
	bp, err := encodeMessage(ProtoCodec, nil, &wrapperspb.StringValue{}, 0, 0)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0, 0, 0}, *bp)
}

func TestEnvelopeReaderErrors(t *testing.T) {
	gz := GetCompressor("gzip")
	bomb, err := gz.Compress(nil, make([]byte, 1<<20))
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		in     []byte
		max    int
		decomp Compressor
		code   codes.Code
	}{
		{"too large before allocating", []byte{0, 0xff, 0xff, 0xff, 0xff}, 1 << 20, nil, codes.ResourceExhausted},
		{"just over the limit", frame(0, make([]byte, 11)), 10, nil, codes.ResourceExhausted},
		{"truncated header", []byte{0, 0, 0}, 10, nil, codes.Internal},
		{"truncated body", []byte{0, 0, 0, 0, 9, 1, 2}, 10, nil, codes.Internal},
		{"bad flag", frame(2, nil), 10, nil, codes.Internal},
		{"compressed without encoding", frame(1, []byte{1}), 10, nil, codes.Internal},
		{"corrupt gzip", frame(1, []byte("not gzip")), 100, gz, codes.Internal},
		{"bomb beyond limit after decompression", frame(1, bomb), 64 << 10, gz, codes.ResourceExhausted},
	} {
		for name, r := range readers(tc.in) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				er := envelopeReader{r: r, maxSize: tc.max, decomp: tc.decomp}
				_, _, err := er.next()
				require.Error(t, err)
				require.Equal(t, tc.code, status.Code(err), err.Error())
			})
		}
	}
	// Exactly at the limit is fine.
	for name, r := range readers(frame(0, make([]byte, 10))) {
		er := envelopeReader{r: r, maxSize: 10}
		payload, _, err := er.next()
		require.NoError(t, err, name)
		require.Len(t, payload, 10, name)
	}
}

func FuzzEnvelopeReader(f *testing.F) {
	gz := GetCompressor("gzip")
	small, _ := gz.Compress(nil, []byte("hello hello hello"))
	big, _ := gz.Compress(nil, make([]byte, 100000))
	f.Add(frame(0, []byte("abc")))
	f.Add(frame(1, small))
	f.Add(frame(1, big))
	f.Add(append(frame(0, nil), frame(1, small)...))
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 4096
		var first []error
		for name, r := range readers(in) {
			er := envelopeReader{r: r, maxSize: max, decomp: gz}
			var errs []error
			for i := 0; i < 100; i++ {
				payload, bp, err := er.next()
				if err != nil {
					if err != io.EOF {
						c := status.Code(err)
						require.Contains(t, []codes.Code{codes.Internal, codes.ResourceExhausted}, c, err.Error())
					}
					errs = append(errs, err)
					break
				}
				require.LessOrEqual(t, len(payload), max)
				bp.release()
				errs = append(errs, nil)
			}
			// Every reader sees the same sequence of messages and errors.
			if first == nil {
				first = errs
			}
			require.Equal(t, len(first), len(errs), name)
			for i := range errs {
				require.Equal(t, status.Code(first[i]), status.Code(errs[i]), name)
			}
		}
	})
}

func TestBufPool(t *testing.T) {
	p := newBufPool()
	for _, n := range []int{0, 1, 512, 513, 4096, 1 << 22, 1<<22 + 1} {
		bp := p.get(n)
		require.GreaterOrEqual(t, cap(*bp), n)
		require.Len(t, *bp, 0)
		p.put(bp)
	}
	p.put(nil)
	odd := make([]byte, 0, 3000) // filed under the 2 KiB class
	p.put(&odd)
	for i := 0; i < 10; i++ {
		bp := p.get(2048)
		require.GreaterOrEqual(t, cap(*bp), 2048)
	}
}

func TestEncodeMessageTakesRightSizedBuffer(t *testing.T) {
	// The buffer must come from the pool class of the final size (2 KiB for
	// a 1 KiB payload), not start small and grow by reallocation, which
	// would allocate on every message and churn the pools.
	msg := wrapperspb.Bytes(make([]byte, 1024))
	bp, err := encodeMessage(ProtoCodec, nil, msg, defaultMaxSendMsgSize, 0)
	require.NoError(t, err)
	defer sendBufs.put(bp)
	// Buffers are filed under the largest class their capacity covers, so
	// the 2 KiB class may hand out anything from 2048 up to 4095 bytes.
	require.GreaterOrEqual(t, cap(*bp), 2048)
	require.Less(t, cap(*bp), 4096)
	require.Equal(t, 5+proto.Size(msg), len(*bp))
}
