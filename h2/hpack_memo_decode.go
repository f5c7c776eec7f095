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
	for i := range m.slots {
		e := &m.slots[i]
		if e.gen != m.gen || e.block == nil || !bytes.Equal(e.block, block) {
			continue
		}
		if headerListSize(e.hdr) > maxList {
			return nil // decoded the normal way, which refuses it
		}
		m.hits++
		return append(make(Header, 0, len(e.hdr)), e.hdr...)
	}
	return nil
}

// sawFragment ends the generation when frag may change the table.
func (m *blockMemo) sawFragment(frag []byte) {
	if !onlyIndexed(frag, len(frag)) {
		m.tableChanged()
	}
}

// decoded remembers the fields of a whole block of indexed fields alone.
func (m *blockMemo) decoded(block []byte, fields Header) {
	if onlyIndexed(block, len(fields)) {
		m.remember(fields, block)
	}
}
