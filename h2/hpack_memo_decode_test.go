package h2

import (
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// TestReceivedBlocksRememberedOnlyWhileTheTableStands: a client sees every
// response header block as a fresh decoder fed the same blocks would. A block
// of indexed fields that repeats while the table stands is not decoded again;
// the same bytes after an insertion (which moves the dynamic indexes) or a
// table size update (which evicts) are decoded again, and mean what they mean
// now, including nothing at all.
func TestReceivedBlocksRememberedOnlyWhileTheTableStands(t *testing.T) {
	p, st := openClientRequest(t)
	mirror := hpack.NewDecoder(4096, nil)
	id := uint32(1)
	// respond answers the open request with block and returns what the client
	// saw, and whether its memo saved a decoding.
	respond := func(block []byte) (Header, bool, error) {
		t.Helper()
		hits := p.sess.hmemoIn.hitCount()
		p.mustWrite(appendHeaders(nil, id, true, true, nil, block))
		h, err := st.Response(ctxT(t))
		hit := p.sess.hmemoIn.hitCount() > hits
		id += 2
		if err == nil {
			var rerr error
			st, rerr = p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
			require.NoError(t, rerr)
			p.expectHeaders(id)
		}
		return h, hit, err
	}
	expect := func(step string, block []byte, wantHit bool) {
		t.Helper()
		want := decodeBlock(t, mirror, block)
		got, hit, err := respond(block)
		require.NoError(t, err, step)
		require.Equal(t, want, got, step)
		require.Equal(t, wantHit, hit, "%s: remembered", step)
	}

	v1 := p.encode(":status", "200", "x-k", "v1")
	expect("x-k: v1 inserted", v1, false)
	v1 = p.encode(":status", "200", "x-k", "v1")
	require.Equal(t, []byte{0x88, 0xbe}, v1, "indexed alone")
	expect("indexed", v1, false)
	expect("repeated", v1, true)

	expect("x-k: v2 inserted, v1 moves to 63", p.encode(":status", "200", "x-k", "v2"), false)
	expect("old bytes now mean v2", v1, false)
	expect("and are remembered so", v1, true)
	at63 := p.encode(":status", "200", "x-k", "v1")
	require.Equal(t, []byte{0x88, 0xbf}, at63)
	expect("v1 at 63", at63, false)
	expect("v1 at 63 repeated", at63, true)

	p.enc.SetMaxDynamicTableSize(40) // room for one entry: v1 is evicted
	expect("size update", p.encode(":status", "200"), false)
	_, err := mirror.DecodeFull(at63)
	require.Error(t, err, "index 63 is gone")
	_, _, err = respond(at63)
	require.Error(t, err, "the remembered fields were used after the eviction")
	p.expectGoAway(ErrCodeCompression)
}

// TestABlockInPiecesIsNotTakenForARememberedOne: only a block that came whole
// is looked up. The last piece of a longer block may have the bytes of a
// remembered block, but the block is more than that piece.
func TestABlockInPiecesIsNotTakenForARememberedOne(t *testing.T) {
	p, st := openClientRequest(t)
	id := uint32(1)
	// trailers answers the open request with a 200 and trailers sent in
	// frags (HEADERS, then CONTINUATIONs), and returns the trailers seen.
	trailers := func(frags ...[]byte) Header {
		t.Helper()
		p.mustWrite(appendHeaders(nil, id, false, true, nil, p.encode(":status", "200")))
		b := appendHeaders(nil, id, true, len(frags) == 1, nil, frags[0])
		for i, f := range frags[1:] {
			b = appendContinuation(b, id, i == len(frags)-2, f)
		}
		p.mustWrite(b)
		_, err := st.Response(ctxT(t))
		require.NoError(t, err)
		_, err = io.ReadAll(st)
		require.NoError(t, err)
		tr := st.Trailers()
		id += 2
		st, err = p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		p.expectHeaders(id)
		return tr
	}
	one := Header{{Name: "x-k", Value: "v"}}
	require.Equal(t, one, trailers(p.encode("x-k", "v")))
	indexed := p.encode("x-k", "v")
	require.Equal(t, []byte{0xbe}, indexed)
	require.Equal(t, one, trailers(indexed))
	hits := p.sess.hmemoIn.hitCount()
	require.Equal(t, one, trailers(indexed))
	require.Equal(t, hits+2, p.sess.hmemoIn.hitCount(), "the response header and the trailers were remembered")
	require.Equal(t, Header{one[0], one[0]}, trailers(indexed, indexed), "a block in two pieces")
}

// TestARememberedBlockMeetsTheLimitsInForceNow: a block remembered under a
// larger MAX_HEADER_LIST_SIZE is refused once the limit is lowered, as it
// would be if decoded again.
func TestARememberedBlockMeetsTheLimitsInForceNow(t *testing.T) {
	p, st := openClientRequest(t)
	id := uint32(1)
	answer := func(block []byte) error {
		t.Helper()
		p.mustWrite(appendHeaders(nil, id, true, true, nil, block))
		_, err := st.Response(ctxT(t))
		id += 2
		var rerr error
		st, rerr = p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, rerr)
		p.expectHeaders(id)
		return err
	}
	require.NoError(t, answer(p.encode(":status", "200", "x-k", "v")))
	block := p.encode(":status", "200", "x-k", "v") // 42 + 36 bytes of header list
	require.NoError(t, answer(block))
	hits := p.sess.hmemoIn.hitCount()
	require.NoError(t, answer(block))
	require.Equal(t, hits+1, p.sess.hmemoIn.hitCount())

	updated := make(chan error, 1)
	go func() { updated <- p.sess.UpdateSettings(ctxT(t), Settings{MaxHeaderListSize: 60}) }()
	p.expect("SETTINGS", func(f rawFrame) bool { return f.Type == FrameSettings && !f.Flags.Has(FlagAck) })
	p.mustWrite(appendSettingsAck(nil))
	require.NoError(t, <-updated)
	p.mustWrite(appendHeaders(nil, id, true, true, nil, block))
	_, err := st.Response(ctxT(t))
	require.Error(t, err, "a list over the new limit")
	p.expectRST(id, ErrCodeProtocol)
}

// TestRememberedListsHandedOutApart: the lists a remembered block decodes to
// are handed out from shared slabs, a few allocations per hundred blocks
// instead of one each, and still apart: what a holder does to its list (Set,
// Del, Add, an append) changes neither the memo's list nor the next one
// handed out.
func TestRememberedListsHandedOutApart(t *testing.T) {
	m := &blockMemo{}
	status := Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
	block := []byte{0x88, 0xbe}
	m.decoded(block, status)

	first := m.lookupBlock(block, 1<<20)
	second := m.lookupBlock(block, 1<<20)
	require.Equal(t, status, first)
	first.Set("content-type", "text/plain")
	first.Del(":status")
	first.Add("x-added", "1")
	_ = append(second, HeaderField{Name: "x-appended", Value: "1"})
	third := m.lookupBlock(block, 1<<20)
	require.Equal(t, status, second, "a list handed out before another's holder changed that one")
	require.Equal(t, status, third, "a list handed out after")
	require.Equal(t, Header{{Name: "content-type", Value: "text/plain"}, {Name: "x-added", Value: "1"}}, first)

	fields := 0
	allocs := testing.AllocsPerRun(100, func() {
		for range 10 {
			fields += len(m.lookupBlock(block, 1<<20))
		}
	})
	require.Equal(t, 101*10*2, fields) // AllocsPerRun runs once more to warm up
	require.LessOrEqual(t, allocs, 1.0, "ten lists of two fields take a slab at most")

	big := make(Header, slabFields)
	for i := range big {
		big[i] = HeaderField{Name: "x-k", Value: "v"}
	}
	bigBlock := make([]byte, len(big))
	for i := range bigBlock {
		bigBlock[i] = 0xbe
	}
	m.decoded(bigBlock, big)
	require.Equal(t, big, m.lookupBlock(bigBlock, 1<<20), "a list larger than a slab")
	require.Equal(t, status, m.lookupBlock(block, 1<<20))
}

// TestARememberedBlockIsCheckedOncePerKind: a remembered block whose list
// passed the received-header checks as a response skips them when it comes
// again as a response, but is checked as trailers the first time it comes
// as trailers, and refused there (a pseudo-header in trailers), every time.
// A list with a content-length is checked each time.
func TestARememberedBlockIsCheckedOncePerKind(t *testing.T) {
	p, st := openClientRequest(t)
	id := uint32(1)
	// next opens the next request and waits for its HEADERS.
	next := func() {
		t.Helper()
		id += 2
		var err error
		st, err = p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
		require.NoError(t, err)
		p.expectHeaders(id)
	}
	respond := func(block []byte) {
		t.Helper()
		p.mustWrite(appendHeaders(nil, id, true, true, nil, block))
		h, err := st.Response(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, "200", h.Get(":status"))
		next()
	}
	respond(p.encode(":status", "200", "x-k", "v")) // inserts x-k: v
	status := p.encode(":status", "200", "x-k", "v")
	require.Equal(t, []byte{0x88, 0xbe}, status, "indexed alone")
	respond(status) // decoded and remembered
	spared := p.sess.hmemoIn.checksSpared
	respond(status) // remembered, checked as a response
	require.Equal(t, spared, p.sess.hmemoIn.checksSpared, "checked the first time it is remembered")
	respond(status)
	respond(status)
	require.Equal(t, spared+2, p.sess.hmemoIn.checksSpared, "not again as a response")

	for range 2 {
		p.mustWrite(appendHeaders(nil, id, false, true, nil, p.encode(":status", "200")))
		_, err := st.Response(ctxT(t))
		require.NoError(t, err)
		p.mustWrite(appendHeaders(nil, id, true, true, nil, status)) // as trailers
		_, err = io.ReadAll(st)
		require.Error(t, err, "a :status in trailers")
		p.expectRST(id, ErrCodeProtocol)
		next()
	}
	require.Equal(t, spared+2, p.sess.hmemoIn.checksSpared)

	respond(p.encode(":status", "200", "content-length", "0"))
	withLength := p.encode(":status", "200", "content-length", "0")
	respond(withLength)
	respond(withLength)
	respond(withLength)
	require.Equal(t, spared+2, p.sess.hmemoIn.checksSpared, "a content-length is read each time")
}

// TestAHandlerChangingItsRequestHeaderLeavesTheNextAlone: a server hands its
// handlers request lists from the same memo and slab (our client repeats a
// request as the same block of indexed fields), so what one handler does to
// its header (Set, Del, Add) must reach neither a request handed out before
// it nor one handed out after.
func TestAHandlerChangingItsRequestHeaderLeavesTheNextAlone(t *testing.T) {
	goroutineLeakCheck(t)
	type seen struct {
		st        *Stream
		hdr, orig Header
	}
	var n atomic.Int32
	headers := make(chan seen, 3)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		h := st.Header()
		orig := append(Header(nil), h...)
		if n.Add(1) == 3 {
			// The third request's list, the memo's first repeat (the first
			// block inserts its literals, the second is remembered), is
			// changed after the second's was handed out, before the fourth's.
			h.Set(":path", "/changed")
			h.Del("content-type")
			h.Add("x-added", "1")
		}
		headers <- seen{st, h, orig}
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
	})}, nil)
	req := append(post("/same"), HeaderField{Name: "content-type", Value: "application/grpc"})
	request := func() seen {
		st, err := c.Request(ctxT(t), req, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
		return <-headers
	}
	_, before, changed, after := request(), request(), request(), request()

	require.Equal(t, "application/grpc", changed.orig.Get("content-type"))
	require.Equal(t, changed.orig, before.hdr, "a list handed out before")
	require.Equal(t, changed.orig, after.hdr, "a list handed out after")
	require.Equal(t, "/changed", changed.hdr.Get(":path"))
	require.Equal(t, "1", changed.hdr.Get("x-added"))
	require.Empty(t, changed.hdr.Get("content-type"))
	require.Equal(t, 2, after.st.Session().hmemoIn.hitCount(), "the third and fourth came from the server's memo")
}
