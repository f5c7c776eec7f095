package main

import (
	"encoding/binary"
	"sync"
)

// frameTypes names the frame types RFC 9113 defines, by their code.
var frameTypes = [...]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

const (
	frameHeaderLen = 9
	typeHeaders    = 0x1
	typePing       = 0x6
	typeWindow     = 0x8
	typeCont       = 0x9
	flagAck        = 0x1
)

// tally is what one direction carried, summed over every connection.
type tally struct {
	Frames      map[string]int64 `json:"frames"`       // by type; PING ACKs and connection WINDOW_UPDATEs apart
	Bytes       int64            `json:"bytes"`        // everything relayed, frame headers included
	HeaderBlock int64            `json:"header_block"` // HPACK bytes in HEADERS and CONTINUATION
}

// counter parses one connection's byte stream in one direction into frames,
// whatever the reads' boundaries, and adds them to a tally shared by all
// connections. It only looks at frame headers; payloads are skipped.
type counter struct {
	mu   *sync.Mutex
	t    *tally
	skip int    // bytes still to pass before the first frame (the client preface)
	buf  []byte // the part of a frame header that the last read cut off
	rest int    // payload bytes of the current frame still to skip
}

// newCounter counts into t (guarded by mu) after skipping the first skip bytes.
func newCounter(mu *sync.Mutex, t *tally, skip int) *counter {
	return &counter{mu: mu, t: t, skip: skip}
}

// feed takes the next bytes of the stream.
func (c *counter) feed(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t.Bytes += int64(len(p))
	if c.skip > 0 {
		n := min(c.skip, len(p))
		c.skip -= n
		p = p[n:]
	}
	for len(p) > 0 {
		if c.rest > 0 {
			n := min(c.rest, len(p))
			c.rest -= n
			p = p[n:]
			continue
		}
		need := frameHeaderLen - len(c.buf)
		if len(p) < need {
			c.buf = append(c.buf, p...)
			return
		}
		hdr := append(c.buf, p[:need]...)
		p = p[need:]
		c.buf = c.buf[:0]
		c.rest = c.frame(hdr)
	}
}

// frame counts one frame from its 9-byte header and returns its payload length.
func (c *counter) frame(h []byte) int {
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	typ, flags := h[3], h[4]
	stream := binary.BigEndian.Uint32(h[5:9]) &^ (1 << 31)
	name := "UNKNOWN"
	if int(typ) < len(frameTypes) {
		name = frameTypes[typ]
	}
	switch {
	case typ == typePing && flags&flagAck != 0:
		name = "PING ACK"
	case typ == typeWindow && stream == 0:
		name = "WINDOW_UPDATE (connection)"
	case typ == typeWindow:
		name = "WINDOW_UPDATE (stream)"
	}
	if typ == typeHeaders || typ == typeCont {
		c.t.HeaderBlock += int64(length)
	}
	if c.t.Frames == nil {
		c.t.Frames = map[string]int64{}
	}
	c.t.Frames[name]++
	return length
}
