package h2

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// memoSession is just enough of a Session to encode header blocks.
func memoSession() *Session {
	s := &Session{opts: &Options{}}
	s.henc = hpack.NewEncoder(&s.hbuf)
	return s
}

// encodeBlock runs one header list through the writer's block encoder and
// returns the HPACK bytes it framed.
func encodeBlock(t *testing.T, s *Session, hdr Header) []byte {
	t.Helper()
	s.wbuf = s.wbuf[:0]
	s.appendHeaderBlock(1, hdr, false, nil, 1<<14)
	fh := parseFrameHeader(s.wbuf)
	require.Equal(t, FrameHeaders, fh.Type)
	return append([]byte(nil), s.wbuf[frameHeaderLen:frameHeaderLen+int(fh.Length)]...)
}

func decodeBlock(t *testing.T, d *hpack.Decoder, block []byte) Header {
	t.Helper()
	fs, err := d.DecodeFull(block)
	require.NoError(t, err)
	return asHeader(fs)
}

// asHeader is fs as the session would hand them over.
func asHeader(fs []hpack.HeaderField) Header {
	var h Header
	for _, f := range fs {
		h = append(h, HeaderField{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive})
	}
	return h
}

// TestHeaderBlocksRememberedOnlyWhileTheTableStands: a repeated list is
// not encoded again, and every block, remembered or not, decodes to its list
// on a peer that saw them all in order, across insertions (which shift the
// dynamic indexes of everything before them), a sensitive field and a list
// refilled in place.
func TestHeaderBlocksRememberedOnlyWhileTheTableStands(t *testing.T) {
	s := memoSession()
	d := hpack.NewDecoder(4096, nil)
	a := Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
	b := Header{{Name: "grpc-status", Value: "0"}}
	refilled := Header{{Name: "x-k", Value: "1"}}
	steps := []struct {
		hdr Header
		hit bool
	}{
		{a, false}, // inserts content-type
		{a, false}, // indexed only: remembered
		{a, true},
		{b, false}, // inserts: a new generation
		{a, false}, // its dynamic index moved: encoded again
		{a, true},
		{b, false}, // indexed only, remembered beside a
		{b, true},
		{a, true},
		{refilled, false},
		{refilled, false},
		{Header{{Name: "secret", Value: "s", Sensitive: true}}, false}, // never indexed: ends the generation too
		{a, false},
		{a, true},
	}
	for i, step := range steps {
		if i == 10 {
			refilled[0].Value = "2" // same slice, new content
		}
		hits := s.memo.hitCount()
		block := encodeBlock(t, s, step.hdr)
		require.Equal(t, step.hit, s.memo.hitCount() > hits, "step %d: remembered", i)
		require.Equal(t, step.hdr, decodeBlock(t, d, block), fmt.Sprintf("step %d", i))
	}
}

// TestTableSizeChangeEndsTheGeneration: after the peer changes
// SETTINGS_HEADER_TABLE_SIZE, the next block is encoded afresh and begins
// with the dynamic table size update (RFC 7541 §4.2), not replayed.
func TestTableSizeChangeEndsTheGeneration(t *testing.T) {
	s := memoSession()
	d := hpack.NewDecoder(4096, nil)
	a := Header{{Name: "content-type", Value: "application/grpc"}}
	for range 3 {
		decodeBlock(t, d, encodeBlock(t, s, a))
	}
	require.Equal(t, 1, s.memo.hitCount())
	s.hencLimit, s.hencLimitSet = 0, true
	s.takeBatchLocked()
	block := encodeBlock(t, s, a)
	require.Equal(t, byte(0x20), block[0], "a size update to 0 first: % x", block)
	require.Equal(t, a, decodeBlock(t, d, block))
}

// TestRepeatedCallsReuseTheirHeaderBlocks: end to end, the request headers of
// repeated requests are encoded once they are all indexed, and the responses
// still carry their headers.
func TestRepeatedCallsReuseTheirHeaderBlocks(t *testing.T) {
	c := memPair(t, &Server{Handler: okHandler}, nil)
	for i := range 10 {
		st, err := c.Request(ctxT(t), post("/same"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		h, err := st.Response(ctxT(t))
		require.NoError(t, err, "request %d", i)
		require.Equal(t, "200", h.Get(":status"))
	}
	c.mu.Lock()
	hits := c.memo.hits
	c.mu.Unlock()
	require.GreaterOrEqual(t, hits, 8, "the first request inserts, the second is remembered")
}
