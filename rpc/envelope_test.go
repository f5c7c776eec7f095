package rpc

import (
	"bytes"
	"encoding/binary"
	"io"
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
		bp, err := encodeMessage(ProtoCodec, comp, msg, defaultMaxSendMsgSize)
		require.NoError(t, err)
		wire := append([]byte(nil), *bp...)
		putBuf(bp)
		if comp != nil {
			require.Equal(t, byte(1), wire[0])
			require.Less(t, len(wire), 500, "gzip should shrink a repetitive message")
		} else {
			require.Equal(t, byte(0), wire[0])
		}
		er := envelopeReader{r: bytes.NewReader(wire), maxSize: defaultMaxRecvMsgSize, decomp: comp}
		pp, err := er.next()
		require.NoError(t, err)
		var got wrapperspb.StringValue
		require.NoError(t, proto.Unmarshal(*pp, &got))
		putBuf(pp)
		require.True(t, proto.Equal(msg, &got))
		_, err = er.next()
		require.Equal(t, io.EOF, err)
	}
}

func TestEncodeLimits(t *testing.T) {
	_, err := encodeMessage(ProtoCodec, nil, wrapperspb.String("0123456789"), 5)
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	_, err = encodeMessage(ProtoCodec, nil, "not a proto", 100)
	require.Equal(t, codes.Internal, status.Code(err))
	// An empty message is a valid zero-length payload.
	bp, err := encodeMessage(ProtoCodec, nil, &wrapperspb.StringValue{}, 0)
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
		t.Run(tc.name, func(t *testing.T) {
			er := envelopeReader{r: bytes.NewReader(tc.in), maxSize: tc.max, decomp: tc.decomp}
			_, err := er.next()
			require.Error(t, err)
			require.Equal(t, tc.code, status.Code(err), err.Error())
		})
	}
	// Exactly at the limit is fine.
	er := envelopeReader{r: bytes.NewReader(frame(0, make([]byte, 10))), maxSize: 10}
	bp, err := er.next()
	require.NoError(t, err)
	require.Len(t, *bp, 10)
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
		er := envelopeReader{r: bytes.NewReader(in), maxSize: max, decomp: gz}
		for i := 0; i < 100; i++ {
			bp, err := er.next()
			if err != nil {
				if err != io.EOF {
					c := status.Code(err)
					require.Contains(t, []codes.Code{codes.Internal, codes.ResourceExhausted}, c, err.Error())
				}
				return
			}
			require.LessOrEqual(t, len(*bp), max)
			putBuf(bp)
		}
	})
}

func TestBufPool(t *testing.T) {
	for _, n := range []int{0, 1, 512, 513, 4096, 1 << 22, 1<<22 + 1} {
		bp := getBuf(n)
		require.GreaterOrEqual(t, cap(*bp), n)
		require.Len(t, *bp, 0)
		putBuf(bp)
	}
	putBuf(nil)
	odd := make([]byte, 0, 3000) // filed under the 2 KiB class
	putBuf(&odd)
	for i := 0; i < 10; i++ {
		bp := getBuf(2048)
		require.GreaterOrEqual(t, cap(*bp), 2048)
	}
}

func TestEncodeMessageTakesRightSizedBuffer(t *testing.T) {
	// The buffer must come from the pool class of the final size (2 KiB for
	// a 1 KiB payload), not start small and grow by reallocation, which
	// would allocate on every message and churn the pools.
	msg := wrapperspb.Bytes(make([]byte, 1024))
	bp, err := encodeMessage(ProtoCodec, nil, msg, defaultMaxSendMsgSize)
	require.NoError(t, err)
	defer putBuf(bp)
	// Buffers are filed under the largest class their capacity covers, so
	// the 2 KiB class may hand out anything from 2048 up to 4095 bytes.
	require.GreaterOrEqual(t, cap(*bp), 2048)
	require.Less(t, cap(*bp), 4096)
	require.Equal(t, 5+proto.Size(msg), len(*bp))
}
