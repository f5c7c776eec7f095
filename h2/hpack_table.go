package h2

import (
	"io"
	"sync/atomic"

	"golang.org/x/net/http2/hpack"
)

// tableUse follows how many bytes an HPACK dynamic table holds (RFC 7541
// §4.1), for Session.State (Node's deflateDynamicTableSize and
// inflateDynamicTableSize): the hpack package does not tell. It reads the
// blocks coded with the table, as the coder does, and keeps each entry's
// name length and size. Blocks of indexed fields alone change nothing and
// are skipped at a glance, so that a repeated call's blocks cost nothing
// here. One goroutine feeds it (the writer for our encoder, the reader for
// our decoder); inUse may be read by any.
type tableUse struct {
	max     uint32
	size    uint32
	entries []tableEntry // oldest first
	inUse   atomic.Uint32
}

type tableEntry struct{ nameLen, size uint32 }

// limit lowers the table's maximum size as the encoder does when the peer
// lowers SETTINGS_HEADER_TABLE_SIZE (the size update it sends follows).
func (t *tableUse) limit(v uint32) {
	if v < t.max {
		t.setMax(v)
	}
}

func (t *tableUse) setMax(v uint32) {
	t.max = v
	t.evict(0)
	t.inUse.Store(t.size)
}

// evict drops the oldest entries until room bytes fit (§4.4).
func (t *tableUse) evict(room uint32) {
	i := 0
	for t.size+room > t.max && i < len(t.entries) {
		t.size -= t.entries[i].size
		i++
	}
	t.entries = t.entries[i:]
}

func (t *tableUse) add(nameLen, valueLen int) {
	size := uint32(nameLen + valueLen + 32)
	if size > t.max {
		t.entries, t.size = t.entries[:0], 0 // an entry larger than the table empties it
		return
	}
	t.evict(size)
	t.entries = append(t.entries, tableEntry{nameLen: uint32(nameLen), size: size})
	t.size += size
}

// follow reads one whole block (§6). It reports false for a block it cannot
// read, which the coder will have refused too.
func (t *tableUse) follow(block []byte) bool {
	if onlyIndexed(block, len(block)) {
		return true
	}
	for len(block) > 0 {
		b := block[0]
		switch {
		case b&0x80 != 0: // indexed field: nothing changes
			_, rest, ok := hpackInt(block, 7)
			if !ok {
				return false
			}
			block = rest
		case b&0xc0 == 0x40: // literal with incremental indexing
			nameLen, valueLen, rest, ok := t.literal(block, 6, true)
			if !ok {
				return false
			}
			t.add(nameLen, valueLen)
			block = rest
		case b&0xe0 == 0x20: // dynamic table size update
			v, rest, ok := hpackInt(block, 5)
			if !ok {
				return false
			}
			t.max = uint32(v)
			t.evict(0)
			block = rest
		default: // literal without indexing, or never indexed
			_, _, rest, ok := t.literal(block, 4, false)
			if !ok {
				return false
			}
			block = rest
		}
	}
	t.inUse.Store(t.size)
	return true
}

// literal reads a literal field whose name index has prefix bits, and
// returns its name's and value's lengths when sized, else skips it.
func (t *tableUse) literal(p []byte, prefix int, sized bool) (nameLen, valueLen int, rest []byte, ok bool) {
	idx, p, ok := hpackInt(p, prefix)
	if !ok {
		return 0, 0, nil, false
	}
	if idx == 0 {
		if nameLen, p, ok = hpackString(p, sized); !ok {
			return 0, 0, nil, false
		}
	} else if !sized {
		// A name from a table: nothing to read or to know.
	} else if nameLen, ok = t.nameLen(idx); !ok {
		return 0, 0, nil, false
	}
	if valueLen, p, ok = hpackString(p, sized); !ok {
		return 0, 0, nil, false
	}
	return nameLen, valueLen, p, true
}

// nameLen is the length of the name at index idx of the static table, then
// the dynamic one, newest first (§2.3.3).
func (t *tableUse) nameLen(idx int) (int, bool) {
	if idx <= len(staticNames) {
		return len(staticNames[idx-1]), true
	}
	i := len(t.entries) - 1 - (idx - len(staticNames) - 1)
	if i < 0 {
		return 0, false
	}
	return int(t.entries[i].nameLen), true
}

// hpackInt reads an integer with a prefix of prefix bits (§5.1).
func hpackInt(p []byte, prefix int) (v int, rest []byte, ok bool) {
	if len(p) == 0 {
		return 0, nil, false
	}
	limit := 1<<prefix - 1
	v = int(p[0]) & limit
	p = p[1:]
	if v < limit {
		return v, p, true
	}
	for shift := 0; len(p) > 0 && shift < 28; shift += 7 {
		b := p[0]
		p = p[1:]
		v += int(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, p, true
		}
	}
	return 0, nil, false
}

// hpackString reads a string literal (§5.2) and, when sized, returns its
// decoded length.
func hpackString(p []byte, sized bool) (n int, rest []byte, ok bool) {
	if len(p) == 0 {
		return 0, nil, false
	}
	huffman := p[0]&0x80 != 0
	n, p, ok = hpackInt(p, 7)
	if !ok || n > len(p) {
		return 0, nil, false
	}
	s, rest := p[:n], p[n:]
	if !huffman || !sized {
		return n, rest, true
	}
	// Only a literal that is indexed needs its length, and such a literal
	// comes once per new field: decoding it again here is rare.
	d, err := hpack.HuffmanDecode(io.Discard, s)
	if err != nil {
		return 0, nil, false
	}
	return d, rest, true
}

// staticNames are the names of the HPACK static table (RFC 7541 Appendix A).
var staticNames = [...]string{
	":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme",
	":status", ":status", ":status", ":status", ":status", ":status", ":status",
	"accept-charset", "accept-encoding", "accept-language", "accept-ranges", "accept",
	"access-control-allow-origin", "age", "allow", "authorization", "cache-control",
	"content-disposition", "content-encoding", "content-language", "content-length",
	"content-location", "content-range", "content-type", "cookie", "date", "etag",
	"expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
	"if-range", "if-unmodified-since", "last-modified", "link", "location", "max-forwards",
	"proxy-authenticate", "proxy-authorization", "range", "referer", "refresh",
	"retry-after", "server", "set-cookie", "strict-transport-security",
	"transfer-encoding", "user-agent", "vary", "via", "www-authenticate",
}
