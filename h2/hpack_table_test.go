package h2

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// TestTableUseFollowsTheEncoder: the bytes tableUse counts after each block
// of x/net's encoder, worked out by hand from RFC 7541 §4.1 (name + value
// + 32 per entry) and §4.4 (eviction, oldest first).
func TestTableUseFollowsTheEncoder(t *testing.T) {
	var buf hpackBuf
	enc := hpack.NewEncoder(&buf)
	use := tableUse{max: 4096}
	steps := []struct {
		name  string
		limit uint32 // lower the encoder's table to this first, when not 0
		hdr   Header
		want  uint32
	}{
		{"a new field is indexed", 0, Header{{Name: "x-custom", Value: "value"}}, 45},
		{"the same field again: indexed, nothing added", 0, Header{{Name: "x-custom", Value: "value"}}, 45},
		{"a static table field", 0, Header{{Name: ":method", Value: "GET"}}, 45},
		{"a static name with a new value", 0, Header{{Name: ":path", Value: "/a/b"}}, 45 + 5 + 4 + 32},
		{"a dynamic name with a new value", 0, Header{{Name: "x-custom", Value: "other"}}, 45 + 41 + 45},
		{"sensitive: never indexed", 0, Header{{Name: "authorization", Value: "secret", Sensitive: true}}, 131},
		{"a lower limit evicts the oldest", 100, Header{{Name: ":method", Value: "GET"}}, 41 + 45},
		{"a field larger than the table is not indexed", 0, Header{{Name: "x-big", Value: strings.Repeat("b", 100)}}, 41 + 45},
	}
	for _, s := range steps {
		if s.limit != 0 {
			enc.SetMaxDynamicTableSizeLimit(s.limit)
			use.limit(s.limit)
		}
		buf.b = buf.b[:0]
		for _, f := range s.hdr {
			require.NoError(t, enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive}))
		}
		require.True(t, use.follow(buf.b), s.name)
		require.Equal(t, s.want, use.inUse.Load(), s.name)
	}

	// Another encoder may index it all the same, which empties the table
	// (§4.4): a literal with incremental indexing and a new name, raw.
	block := append([]byte{0x40, 5}, "x-big"...)
	block = append(block, 100)
	block = append(block, strings.Repeat("b", 100)...)
	require.True(t, use.follow(block))
	require.Zero(t, use.inUse.Load())
}

// TestTableUseRefusesTruncatedBlocks: a block cut anywhere is reported,
// not misread.
func TestTableUseRefusesTruncatedBlocks(t *testing.T) {
	var buf hpackBuf
	enc := hpack.NewEncoder(&buf)
	require.NoError(t, enc.WriteField(hpack.HeaderField{Name: "x-name", Value: "a value long enough"}))
	for n := 1; n < len(buf.b); n++ {
		use := tableUse{max: 4096}
		require.False(t, use.follow(buf.b[:n]), "cut at %d", n)
	}
	for _, tc := range []struct {
		p      []byte
		prefix int
		v      int
		ok     bool
	}{
		{[]byte{0x0a}, 5, 10, true},
		{[]byte{0x1f, 0x9a, 0x0a}, 5, 1337, true}, // RFC 7541 §C.1.2
		{[]byte{0x1f, 0x9a}, 5, 0, false},
		{[]byte{0x1f, 0xff, 0xff, 0xff, 0xff, 0xff}, 5, 0, false},
	} {
		v, _, ok := hpackInt(tc.p, tc.prefix)
		require.Equal(t, tc.ok, ok, "%x", tc.p)
		require.Equal(t, tc.v, v, "%x", tc.p)
	}
}

// TestStateTableUse: one side's encoder table and the other's decoder table
// hold the same bytes, read from Session.State (Node's
// deflateDynamicTableSize and inflateDynamicTableSize), also after a block
// that came in CONTINUATION frames.
func TestStateTableUse(t *testing.T) {
	goroutineLeakCheck(t)
	sessions := make(chan *Session, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: "x-answer", Value: "42"}}, &RespondOptions{EndStream: true})
	}), OnSession: func(s *Session) { sessions <- s }}, nil)
	require.Zero(t, c.State().EncoderTableInUse)
	large := Header{{Name: ":path", Value: "/"}}
	for i := range 40 { // about 20 KB: more than one frame
		large = append(large, HeaderField{Name: "x-field-" + strconv.Itoa(i), Value: strings.Repeat("v", 500)})
	}
	srv := <-sessions
	for _, hdr := range []Header{{{Name: ":path", Value: "/x"}, {Name: "x-request", Value: "1"}}, large} {
		st, err := c.Request(ctxT(t), hdr, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
		cs, ss := c.State(), srv.State()
		require.Positive(t, cs.EncoderTableInUse)
		require.Equal(t, cs.EncoderTableInUse, ss.DecoderTableInUse, "our requests")
		require.Positive(t, ss.EncoderTableInUse)
		require.Equal(t, ss.EncoderTableInUse, cs.DecoderTableInUse, "its responses")
	}
	require.LessOrEqual(t, c.State().EncoderTableInUse, uint32(4096))
}
