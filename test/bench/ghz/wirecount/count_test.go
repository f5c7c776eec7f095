package main

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// frameBytes is one frame: a 9-byte header and a zero payload.
func frameBytes(typ, flags byte, stream uint32, payload int) []byte {
	b := []byte{byte(payload >> 16), byte(payload >> 8), byte(payload), typ, flags,
		byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}
	return append(b, make([]byte, payload)...)
}

// TestCounterFramesAcrossReads: frames are counted by type however the reads
// cut them, the preface is skipped, PING ACKs and connection WINDOW_UPDATEs
// are told apart, and header blocks are summed.
func TestCounterFramesAcrossReads(t *testing.T) {
	preface := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	var stream []byte
	stream = append(stream, preface...)
	stream = append(stream, frameBytes(0x4, 0, 0, 12)...)   // SETTINGS
	stream = append(stream, frameBytes(0x1, 0x4, 1, 14)...) // HEADERS
	stream = append(stream, frameBytes(0x9, 0x4, 1, 3)...)  // CONTINUATION
	stream = append(stream, frameBytes(0x0, 0, 1, 10)...)   // DATA
	stream = append(stream, frameBytes(0x1, 0x5, 1, 1)...)  // trailers
	stream = append(stream, frameBytes(0x6, 0x1, 0, 8)...)  // PING ACK
	stream = append(stream, frameBytes(0x6, 0, 0, 8)...)    // PING
	stream = append(stream, frameBytes(0x8, 0, 0, 4)...)    // connection WINDOW_UPDATE
	stream = append(stream, frameBytes(0x8, 0, 3, 4)...)    // stream WINDOW_UPDATE
	stream = append(stream, frameBytes(0xb, 0, 0, 2)...)    // an extension frame

	want := map[string]int64{"SETTINGS": 1, "HEADERS": 2, "CONTINUATION": 1, "DATA": 1, "PING ACK": 1, "PING": 1,
		"WINDOW_UPDATE (connection)": 1, "WINDOW_UPDATE (stream)": 1, "UNKNOWN": 1}
	for _, size := range []int{1, 2, 5, 9, 10, 17, len(stream)} {
		var mu sync.Mutex
		var got tally
		c := newCounter(&mu, &got, len(preface))
		for p := stream; len(p) > 0; {
			n := min(size, len(p))
			c.feed(p[:n])
			p = p[n:]
		}
		require.Equal(t, want, got.Frames, "reads of %d bytes", size)
		require.Equal(t, int64(14+3+1), got.HeaderBlock, "reads of %d bytes", size)
		require.Equal(t, int64(len(stream)), got.Bytes, "reads of %d bytes", size)
	}
}
