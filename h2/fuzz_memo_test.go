package h2

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// FuzzReceivedBlocks: a sequence of header blocks, each a request on a stream
// of its own, against a server that remembers repeated blocks
// (hpack_memo_decode.go). Whenever a handler runs, it sees the fields that a
// fresh decoder fed the same blocks in order gives, whether the server
// decoded the block or remembered it; a block that such a decoder cannot
// decode never reaches a handler.
//
// The input is the blocks, each after a byte with its length.
func FuzzReceivedBlocks(f *testing.F) {
	req := getRequest
	f.Add(blockSeq(req(), req(), req()))
	f.Add(blockSeq(req("x-k", "v1"), req("x-k", "v1"), req("x-k", "v1"), req("x-k", "v2"), req("x-k", "v1")))
	stale := seedSeq(func(e *hpack.Encoder, enc func(kv ...string) []byte) [][]byte {
		a := enc(req("x-k", "v1")...)
		b := enc(req("x-k", "v1")...) // indexed alone
		c := enc(req("x-k", "v2")...) // moves x-k: v1
		e.SetMaxDynamicTableSize(100)
		d := enc(req()...) // a size update that evicts
		return [][]byte{a, b, b, c, b, b, d, b}
	})
	f.Add(stale)
	f.Add([]byte{2, 0x82, 0x86, 2, 0x82, 0x86})       // no :path: malformed, twice
	f.Add([]byte{1, 0x80, 1, 0xbe})                   // index 0, then an index never defined
	f.Add([]byte{3, 0x3f, 0xe1, 0x1f, 2, 0xbe, 0xbf}) // a size update above the limit
	f.Fuzz(func(t *testing.T, in []byte) {
		blocks := splitBlocks(in, 24)
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		type saw struct {
			id  uint32
			hdr Header
		}
		seen := make(chan saw, len(blocks))
		srv := &Server{Options: fuzzOptions, Handler: HandlerFunc(func(st *Stream) {
			seen <- saw{st.ID(), append(Header(nil), st.Header()...)}
			_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{EndStream: true})
		})}
		p := newServerPeer(t, srv)
		p.handshake()
		p.startReader()
		mirror := hpack.NewDecoder(4096, nil)
		defer func() {
			_ = p.conn.Close()
			p.waitDone()
		}()
		for i, block := range blocks {
			id := uint32(2*i + 1)
			want, werr := mirror.DecodeFull(block)
			if p.write(appendHeaders(nil, id, true, true, nil, block)) != nil {
				return
			}
			if !awaitStreamOutcome(t, p, id) {
				return // the connection ended: nothing more reaches a handler
			}
			select {
			case s := <-seen:
				require.Equal(t, id, s.id)
				require.NoError(t, werr, "block %d reached a handler, but does not decode", i)
				require.Equal(t, asHeader(want), s.hdr, "block %d", i)
			default:
			}
			if werr != nil {
				t.Fatalf("block %d does not decode (%v), but the connection goes on", i, werr)
			}
		}
	})
}

// awaitStreamOutcome reads until stream id is answered (a response or a
// reset) and reports true, or until the connection ends and reports false.
func awaitStreamOutcome(t *testing.T, p *peer, id uint32) bool {
	deadline := time.Now().Add(fuzzWait)
	for {
		f, err := p.readFrame(time.Until(deadline))
		if errors.Is(err, errDeadline) {
			t.Fatalf("no response, reset or close for stream %d", id)
		}
		if err != nil || f.Type == FrameGoAway && f.code() != ErrCodeNo {
			return false
		}
		if f.StreamID == id && (f.Type == FrameRSTStream || f.Fields != nil) {
			return true
		}
	}
}

// splitBlocks cuts in into at most max blocks, each after its length byte.
func splitBlocks(in []byte, max int) [][]byte {
	var out [][]byte
	for len(in) > 0 && len(out) < max {
		n := min(int(in[0]), len(in)-1)
		out = append(out, in[1:1+n])
		in = in[1+n:]
	}
	return out
}

// blockSeq encodes header lists in order with one encoder, as a peer would,
// in splitBlocks' format.
func blockSeq(lists ...[]string) []byte {
	return seedSeq(func(_ *hpack.Encoder, enc func(kv ...string) []byte) [][]byte {
		var out [][]byte
		for _, l := range lists {
			out = append(out, enc(l...))
		}
		return out
	})
}

func seedSeq(build func(e *hpack.Encoder, enc func(kv ...string) []byte) [][]byte) []byte {
	var buf bytes.Buffer
	e := hpack.NewEncoder(&buf)
	enc := func(kv ...string) []byte {
		buf.Reset()
		for i := 0; i < len(kv); i += 2 {
			_ = e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	var out []byte
	for _, b := range build(e, enc) {
		out = append(append(out, byte(len(b))), b...)
	}
	return out
}

// FuzzReceivedResponseBlocks is FuzzReceivedBlocks on a client: each block
// answers a request of its own. Whenever a response comes through, it
// carries what a fresh decoder gives; a block that such a decoder cannot
// decode never comes through as a response.
func FuzzReceivedResponseBlocks(f *testing.F) {
	ok := []string{":status", "200"}
	f.Add(blockSeq(ok, ok, ok))
	f.Add(seedSeq(func(e *hpack.Encoder, enc func(kv ...string) []byte) [][]byte {
		a := enc(":status", "200", "x-k", "v1")
		b := enc(":status", "200", "x-k", "v1") // indexed alone
		c := enc(":status", "204", "x-k", "v2") // moves x-k: v1
		e.SetMaxDynamicTableSize(40)
		d := enc(":status", "200") // a size update that evicts x-k: v1
		return [][]byte{a, b, b, c, b, b, d, b}
	}))
	f.Add([]byte{1, 0xbe, 1, 0x88}) // an index never defined
	f.Fuzz(func(t *testing.T, in []byte) {
		blocks := splitBlocks(in, 24)
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		p := newClientPeer(t, &ClientOptions{Options: fuzzOptions})
		p.serverHandshake()
		mirror := hpack.NewDecoder(4096, nil)
		for i, block := range blocks {
			id := uint32(2*i + 1)
			want, werr := mirror.DecodeFull(block)
			st, err := p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
			if err != nil {
				return // the session ended: nothing more comes through
			}
			p.expectHeaders(id)
			if p.write(appendHeaders(nil, id, true, true, nil, block)) != nil {
				return
			}
			ctx, cancel := context.WithTimeout(ctxT(t), fuzzWait)
			got, err := st.Response(ctx)
			cancel()
			require.NotErrorIs(t, err, context.DeadlineExceeded, "block %d: no response, reset or close", i)
			if err != nil {
				select {
				case <-p.sess.Done():
					return // a connection error: the session is gone
				default:
					continue // a stream error: the next request goes on
				}
			}
			require.NoError(t, werr, "block %d came through, but does not decode", i)
			require.Equal(t, asHeader(want), got, "block %d", i)
		}
	})
}
