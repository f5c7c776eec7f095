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

// lookupBlock returns a copy of the fields of block that shares no storage
// with any other list handed out (handOut), when it is
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
		m.hit = e
		return m.handOut(e.hdr)
	}
	return nil
}

// slabFields is how many fields one slab holds. A call's lists are a few
// fields each (a gRPC response header two, its trailers one or two, a
// request's header about eight), so one 2,560-byte slab serves a dozen
// calls' worth of lists or more where a copy each was an allocation each.
// The price: a list kept after its stream is gone keeps its whole slab alive.
const slabFields = 64

// handOut copies hdr into the memo's current slab, starting a new one when
// it is full. Each copy's capacity ends with it, so that what its holder
// does to it (Add, Set, Del, append) never reaches the memo's list or
// another copy: Set and Del only shrink in place, and a copy grown past its
// end moves out of the slab.
func (m *blockMemo) handOut(hdr Header) Header {
	n := len(hdr)
	if n > slabFields/4 {
		return append(make(Header, 0, n), hdr...) // a large list would waste the rest of a slab
	}
	if cap(m.slab)-len(m.slab) < n {
		m.slab = make(Header, 0, slabFields)
	}
	start := len(m.slab)
	m.slab = append(m.slab, hdr...)
	return m.slab[start:len(m.slab):len(m.slab)]
}

// sawFragment ends the generation when frag may change the table. Every
// fragment not taken for a remembered block comes here first: the block
// being received is no longer the remembered one.
func (m *blockMemo) sawFragment(frag []byte) {
	if m == nil {
		return
	}
	m.hit = nil
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

// checkReceived is checkHeaderBlock for the block being received as kind.
// A remembered block's list is the same fields every time, so once it has
// passed as kind, without a content-length (the one result besides the
// verdict), its repeats skip the per-byte checks of every name and value:
// about 2% of a unary call's CPU on both ends, for the request, the
// response header and the trailers. A list that failed is checked again
// each time, as it is refused each time.
func (s *Session) checkReceived(fields Header, kind headerKind) (contentLength int64, reason string) {
	m := s.hmemoIn
	if m != nil && m.hit != nil && m.hit.checked&(1<<kind) != 0 {
		m.checksSpared++
		return -1, ""
	}
	contentLength, reason = checkHeaderBlock(fields, kind)
	if reason == "" && contentLength == -1 && m != nil && m.hit != nil {
		m.hit.checked |= 1 << kind
	}
	return contentLength, reason
}
