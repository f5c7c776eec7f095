package h2

import "bytes"

// The reading side of blockMemo (hpack_memo.go). A peer that remembers its
// blocks, as ours does, sends a repeated header list as the same bytes, one
// indexed field per byte, and such a block decodes to the same fields for as
// long as our decoder's table stands: it inserts nothing itself. The reader
// keeps the fields of recent such blocks in a blockMemo of its own
// (Session.hmemoIn), looked up by block instead of by list, so that a repeat
// skips HPACK decoding and the per-field work behind it (about 6% of the CPU
// at concurrency 64).
//
// Any fragment with a byte that is not a one-byte indexed field may change the
// table (a literal with indexing, a size update), so it starts a new
// generation; nothing else changes the decoder's table (a new allowed size
// only bounds the peer's next size update). Only a block that came whole in
// one fragment is remembered or looked up: the last piece of a longer block
// may have the bytes of a remembered one.

// lookupBlock returns a fresh copy of the fields of block, when it is
// remembered from this generation and its list still fits MAX_HEADER_LIST_SIZE,
// which may have been lowered since. (The pair limit is fixed per session,
// and a block over it is never remembered.)
func (m *blockMemo) lookupBlock(block []byte, maxList uint32) Header {
	if m == nil {
		return nil
	}
	m.lastHit = nil
	for i := range m.slots {
		e := &m.slots[i]
		if e.gen != m.gen || e.block == nil || !bytes.Equal(e.block, block) {
			continue
		}
		if e.size > maxList {
			return nil // decoded the normal way, which refuses it
		}
		m.hits++
		m.lastHit = e
		return append(make(Header, 0, len(e.hdr)), e.hdr...)
	}
	return nil
}

// sawFragment ends the generation when frag may change the table.
func (m *blockMemo) sawFragment(frag []byte) {
	if m == nil {
		return
	}
	m.lastHit = nil // frag is decoded: its block is none of the remembered
	if !onlyIndexed(frag, len(frag)) {
		m.tableChanged()
	}
}

// decoded remembers the fields of a whole block of indexed fields alone.
func (m *blockMemo) decoded(block []byte, fields Header) {
	if onlyIndexed(block, len(fields)) {
		m.lastHit = m.remember(fields, block)
	}
}

// requestCheck is what the reader learns from a request's fields before it
// opens the stream: checkHeaderBlock's verdict and the fields it looks up.
// The fields of a repeated block are the same, and so is its check, made
// once per remembered block instead of per request (checkHeaderBlock was 4%
// of the server's CPU under h2load, whose blocks all repeat).
type requestCheck struct {
	contentLength int64
	reason        string // why the request is malformed, "" if it is not
	connect       bool   // it has :protocol (extended CONNECT)
	priority      bool   // it has a priority field
	done          bool
}

// checkRequest checks fields, the block being applied, as a request: from
// its remembered block's entry when it has one (m may be nil).
func (m *blockMemo) checkRequest(fields Header) requestCheck {
	if m != nil && m.lastHit != nil && m.lastHit.req.done {
		return m.lastHit.req
	}
	cl, reason := checkHeaderBlock(fields, kindRequest)
	c := requestCheck{contentLength: cl, reason: reason, connect: extendedConnect(fields), priority: fields.Has("priority"), done: true}
	if m != nil && m.lastHit != nil {
		m.lastHit.req = c
	}
	return c
}
