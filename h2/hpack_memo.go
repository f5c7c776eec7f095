package h2

// HPACK encoding is most of the cost of a small call's frames, and the header
// lists of calls repeat: the same request headers for a method, the same
// ":status 200" and content-type, the same OK trailer. Once their fields are
// in the dynamic table, such a list encodes to one indexed byte per field,
// and encoding it again gives the same bytes for as long as the table does
// not change. blockMemo keeps those encodings and hands them back.
//
// The table changes only when a block inserts into it or its size changes.
// A block of indexed fields alone inserts nothing; any other block may, and
// so does a size change, so both start a new generation, and a remembered
// block is used only within the generation it was encoded in. Lists are
// compared field by field, not by slice identity: a caller may refill a slice.

// memoSlots is how many distinct lists are remembered: a server's response
// headers and OK trailers, a client's request headers, with room to spare.
const memoSlots = 4

type blockMemo struct {
	gen   uint64 // the dynamic table's generation
	next  int    // the slot the next entry replaces
	slots [memoSlots]memoEntry
	hits  int // blocks not encoded again (for tests)
}

type memoEntry struct {
	gen   uint64
	hdr   Header // a copy of the fields
	block []byte
}

// lookup returns the remembered encoding of hdr, or nil.
func (m *blockMemo) lookup(hdr Header) []byte {
	if m == nil {
		return nil
	}
	for i := range m.slots {
		e := &m.slots[i]
		if e.gen == m.gen && e.block != nil && sameFields(e.hdr, hdr) {
			m.hits++
			return e.block
		}
	}
	return nil
}

// encoded records that hdr was just encoded as block: it is remembered when
// the table is untouched by it, and ends the generation otherwise.
func (m *blockMemo) encoded(hdr Header, block []byte) {
	if !onlyIndexed(block, len(hdr)) {
		m.tableChanged()
		return
	}
	m.remember(hdr, block)
}

// remember keeps a copy of hdr and of its block, in this generation.
func (m *blockMemo) remember(hdr Header, block []byte) {
	e := &m.slots[m.next]
	m.next = (m.next + 1) % memoSlots
	e.gen = m.gen
	e.hdr = append(e.hdr[:0], hdr...)
	e.block = append(e.block[:0], block...)
}

// tableChanged ends the generation: the dynamic table may differ now.
func (m *blockMemo) tableChanged() {
	if m != nil {
		m.gen++
	}
}

// hitCount is how many blocks m spared the coder (tests read it; a memo
// not made yet spared none).
func (m *blockMemo) hitCount() int {
	if m == nil {
		return 0
	}
	return m.hits
}

// rememberIn is encoded and decoded's entry point: the session's memos are
// made by the first block worth remembering, so that a connection that
// never carries one (an idle one) does not hold two of them (half a KiB).
func rememberIn(m **blockMemo) *blockMemo {
	if *m == nil {
		*m = new(blockMemo)
	}
	return *m
}

// onlyIndexed reports whether block is n one-byte indexed fields (RFC 7541
// §6.1, an index below 127): the only blocks that leave the table as it was.
func onlyIndexed(block []byte, n int) bool {
	if len(block) != n {
		return false
	}
	for _, b := range block {
		if b&0x80 == 0 {
			return false
		}
	}
	return true
}

func sameFields(a, b Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
