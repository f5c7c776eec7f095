package h2

import "bytes"

// The reading side of blockMemo (hpack_memo.go). A peer that remembers its
// blocks, as ours does, sends a repeated header list as the same bytes, one
// indexed field per byte, and such a block decodes to the same fields for as
// long as our decoder's table stands: it inserts nothing itself. decodeMemo
// keeps the fields of recent such blocks, so that a repeat skips HPACK
// decoding and the per-field work behind it (about 6% of the CPU at
// concurrency 64).
//
// Any fragment with a byte that is not a one-byte indexed field may change the
// table (a literal with indexing, a size update), so it starts a new
// generation; nothing else changes the decoder's table (a new allowed size
// only bounds the peer's next size update). Only a block that came whole in
// one fragment is remembered or looked up: the last piece of a longer block
// may have the bytes of a remembered one.
type decodeMemo struct {
	gen   uint64
	next  int
	slots [memoSlots]decodedBlock
	hits  int // blocks not decoded again (for tests)
}

type decodedBlock struct {
	gen      uint64
	block    []byte
	fields   Header
	listSize uint32
}

// lookup returns a fresh copy of the fields of block, when it is remembered
// from this generation and its list fits the limits in force now.
func (m *decodeMemo) lookup(block []byte, maxList uint32, maxPairs int) Header {
	for i := range m.slots {
		e := &m.slots[i]
		if e.gen != m.gen || e.block == nil || !bytes.Equal(e.block, block) {
			continue
		}
		if e.listSize > maxList || len(e.fields) > maxPairs {
			return nil // decoded the normal way, which refuses it
		}
		m.hits++
		return append(make(Header, 0, len(e.fields)), e.fields...)
	}
	return nil
}

// sawFragment ends the generation when frag may change the table.
func (m *decodeMemo) sawFragment(frag []byte) {
	if !onlyIndexed(frag, len(frag)) {
		m.tableChanged()
	}
}

// decoded remembers the fields of a whole block of indexed fields alone.
func (m *decodeMemo) decoded(block []byte, fields Header, listSize uint32) {
	if !onlyIndexed(block, len(fields)) {
		return
	}
	e := &m.slots[m.next]
	m.next = (m.next + 1) % memoSlots
	e.gen = m.gen
	e.block = append(e.block[:0], block...)
	e.fields = append(e.fields[:0], fields...)
	e.listSize = listSize
}

func (m *decodeMemo) tableChanged() { m.gen++ }
