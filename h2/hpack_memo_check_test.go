package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A remembered request block is checked once: a repeat of its bytes gets
// the check made for the first, and a block decoded afresh is checked again.
func TestRepeatedRequestBlockCheckedOnce(t *testing.T) {
	m := new(blockMemo)
	block := []byte{0x82, 0x86, 0x84} // indexed: :method GET, :scheme http, :path /
	fields := Header{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}}
	m.decoded(block, fields)
	first := m.checkRequest(fields)
	require.Empty(t, first.reason)
	require.Equal(t, int64(-1), first.contentLength)

	require.Equal(t, fields, m.lookupBlock(block, 1<<20))
	// No fields at all would be "missing :method": what comes back is the
	// first block's check, not a new one.
	require.Equal(t, first, m.checkRequest(nil))

	m.sawFragment([]byte{0x40, 0x01, 'x', 0x01, 'y'}) // a literal: decoded, not remembered
	require.Equal(t, "missing :method", m.checkRequest(nil).reason)
	require.Empty(t, (*blockMemo)(nil).checkRequest(fields).reason, "a session without a memo checks every block")
}

// A malformed request is refused every time it comes, also when its block
// repeats and its check is the remembered one.
func TestRepeatedMalformedRequestRefusedEachTime(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: okHandler})
	p.handshake()
	p.startReader()
	noPath := []byte{0x82, 0x86} // :method GET, :scheme http: no :path
	for _, id := range []uint32{1, 3, 5} {
		p.mustWrite(appendHeaders(nil, id, true, true, nil, noPath))
		p.expectRST(id, ErrCodeProtocol)
	}
	p.request(7, true)
	require.Equal(t, "200", p.expectHeaders(7).Fields.Get(":status"))
}
