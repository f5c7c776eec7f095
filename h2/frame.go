package h2

import (
	"encoding/binary"
	"fmt"
	"io"
)

// FrameType is the type octet of a frame header (RFC 9113 §6).
type FrameType uint8

// The frame types of RFC 9113 §6, plus PRIORITY_UPDATE from RFC 9218 §7.1.
const (
	FrameData           FrameType = 0x0
	FrameHeaders        FrameType = 0x1
	FramePriority       FrameType = 0x2
	FrameRSTStream      FrameType = 0x3
	FrameSettings       FrameType = 0x4
	FramePushPromise    FrameType = 0x5
	FramePing           FrameType = 0x6
	FrameGoAway         FrameType = 0x7
	FrameWindowUpdate   FrameType = 0x8
	FrameContinuation   FrameType = 0x9
	FramePriorityUpdate FrameType = 0x10
)

var frameTypeNames = map[FrameType]string{
	FrameData: "DATA", FrameHeaders: "HEADERS", FramePriority: "PRIORITY",
	FrameRSTStream: "RST_STREAM", FrameSettings: "SETTINGS", FramePushPromise: "PUSH_PROMISE",
	FramePing: "PING", FrameGoAway: "GOAWAY", FrameWindowUpdate: "WINDOW_UPDATE",
	FrameContinuation: "CONTINUATION", FramePriorityUpdate: "PRIORITY_UPDATE",
	FrameAltSvc: "ALTSVC", FrameOrigin: "ORIGIN",
}

func (t FrameType) String() string {
	if s, ok := frameTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("UNKNOWN_FRAME_0x%x", uint8(t))
}

// Flags are the flag bits of a frame header; their meaning depends on the type.
type Flags uint8

// Frame flags (RFC 9113 §6).
const (
	FlagEndStream  Flags = 0x1
	FlagAck        Flags = 0x1 // SETTINGS and PING
	FlagEndHeaders Flags = 0x4
	FlagPadded     Flags = 0x8
	FlagPriority   Flags = 0x20
)

// Has reports whether all bits of v are set.
func (f Flags) Has(v Flags) bool { return f&v == v }

const (
	frameHeaderLen  = 9
	minMaxFrameSize = 1 << 14
	maxMaxFrameSize = 1<<24 - 1
	maxWindow       = 1<<31 - 1
	streamIDMask    = 1<<31 - 1
)

// FrameHeader is the fixed 9-octet header in front of every frame.
type FrameHeader struct {
	Length   uint32
	Type     FrameType
	Flags    Flags
	StreamID uint32
}

func parseFrameHeader(b []byte) FrameHeader {
	return FrameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    Flags(b[4]),
		StreamID: binary.BigEndian.Uint32(b[5:]) & streamIDMask, // reserved bit ignored (§4.1)
	}
}

func appendFrameHeader(dst []byte, length int, t FrameType, f Flags, streamID uint32) []byte {
	return append(dst, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(f),
		byte(streamID>>24), byte(streamID>>16), byte(streamID>>8), byte(streamID))
}

// ReadFrameHeader reads one frame header; the payload is left to the caller.
func ReadFrameHeader(r io.Reader, buf *[frameHeaderLen]byte) (FrameHeader, error) {
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return FrameHeader{}, err
	}
	return parseFrameHeader(buf[:]), nil
}

// stripPadding removes the Pad Length octet and trailing padding of a DATA,
// HEADERS or PUSH_PROMISE payload (§6.1). Padding as long as the rest of the
// payload or longer is a connection error of type PROTOCOL_ERROR.
func stripPadding(fh FrameHeader, p []byte) ([]byte, error) {
	if !fh.Flags.Has(FlagPadded) {
		return p, nil
	}
	if len(p) < 1 {
		return nil, connErr(ErrCodeFrameSize, "%s frame too short for its pad length", fh.Type)
	}
	pad := int(p[0])
	p = p[1:]
	if pad > len(p) {
		return nil, connErr(ErrCodeProtocol, "%s frame padding longer than payload", fh.Type)
	}
	return p[:len(p)-pad], nil
}

// PriorityParam is the RFC 7540 priority signal carried by PRIORITY frames and
// HEADERS frames with the PRIORITY flag. RFC 9113 deprecates the scheme but still
// requires parsing and validating it.
type PriorityParam struct {
	StreamDep uint32
	Exclusive bool
	Weight    uint8 // the wire value: effective weight is Weight+1 (1..256)
}

func parsePriority(p []byte) PriorityParam {
	v := binary.BigEndian.Uint32(p)
	return PriorityParam{StreamDep: v & streamIDMask, Exclusive: v>>31 == 1, Weight: p[4]}
}

func appendPriorityParam(dst []byte, pp PriorityParam) []byte {
	v := pp.StreamDep & streamIDMask
	if pp.Exclusive {
		v |= 1 << 31
	}
	return append(binary.BigEndian.AppendUint32(dst, v), pp.Weight)
}

// The append functions below encode complete frames onto dst. They are the
// only producers of frame bytes, used by the session writer and by tests that
// play a hostile peer. AppendSettings and AppendPing are exported because
// tests outside h2 (rpc's defenses) play a peer with them; the others are
// h2's own.

// appendData appends a DATA frame.
func appendData(dst []byte, streamID uint32, endStream bool, data []byte) []byte {
	var f Flags
	if endStream {
		f = FlagEndStream
	}
	dst = appendFrameHeader(dst, len(data), FrameData, f, streamID)
	return append(dst, data...)
}

// appendHeaders appends a HEADERS frame carrying a header block fragment.
func appendHeaders(dst []byte, streamID uint32, endStream, endHeaders bool, prio *PriorityParam, frag []byte) []byte {
	var f Flags
	n := len(frag)
	if endStream {
		f |= FlagEndStream
	}
	if endHeaders {
		f |= FlagEndHeaders
	}
	if prio != nil {
		f |= FlagPriority
		n += 5
	}
	dst = appendFrameHeader(dst, n, FrameHeaders, f, streamID)
	if prio != nil {
		dst = appendPriorityParam(dst, *prio)
	}
	return append(dst, frag...)
}

// appendContinuation appends a CONTINUATION frame.
func appendContinuation(dst []byte, streamID uint32, endHeaders bool, frag []byte) []byte {
	var f Flags
	if endHeaders {
		f = FlagEndHeaders
	}
	dst = appendFrameHeader(dst, len(frag), FrameContinuation, f, streamID)
	return append(dst, frag...)
}

// appendPriority appends a PRIORITY frame.
func appendPriority(dst []byte, streamID uint32, pp PriorityParam) []byte {
	dst = appendFrameHeader(dst, 5, FramePriority, 0, streamID)
	return appendPriorityParam(dst, pp)
}

// appendRSTStream appends a RST_STREAM frame.
func appendRSTStream(dst []byte, streamID uint32, code ErrCode) []byte {
	dst = appendFrameHeader(dst, 4, FrameRSTStream, 0, streamID)
	return binary.BigEndian.AppendUint32(dst, uint32(code))
}

// AppendSettings appends a SETTINGS frame with the given parameters in order.
func AppendSettings(dst []byte, params ...Setting) []byte {
	dst = appendFrameHeader(dst, 6*len(params), FrameSettings, 0, 0)
	for _, p := range params {
		dst = binary.BigEndian.AppendUint16(dst, uint16(p.ID))
		dst = binary.BigEndian.AppendUint32(dst, p.Val)
	}
	return dst
}

// appendSettingsAck appends an empty SETTINGS frame with the ACK flag.
func appendSettingsAck(dst []byte) []byte {
	return appendFrameHeader(dst, 0, FrameSettings, FlagAck, 0)
}

// AppendPing appends a PING frame.
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var f Flags
	if ack {
		f = FlagAck
	}
	dst = appendFrameHeader(dst, 8, FramePing, f, 0)
	return append(dst, data[:]...)
}

// appendGoAway appends a GOAWAY frame.
func appendGoAway(dst []byte, lastStreamID uint32, code ErrCode, debug []byte) []byte {
	dst = appendFrameHeader(dst, 8+len(debug), FrameGoAway, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, lastStreamID&streamIDMask)
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// appendWindowUpdate appends a WINDOW_UPDATE frame.
func appendWindowUpdate(dst []byte, streamID, incr uint32) []byte {
	dst = appendFrameHeader(dst, 4, FrameWindowUpdate, 0, streamID)
	return binary.BigEndian.AppendUint32(dst, incr&streamIDMask)
}

// appendPriorityUpdate appends an RFC 9218 PRIORITY_UPDATE frame.
func appendPriorityUpdate(dst []byte, prioritizedID uint32, fieldValue string) []byte {
	dst = appendFrameHeader(dst, 4+len(fieldValue), FramePriorityUpdate, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, prioritizedID&streamIDMask)
	return append(dst, fieldValue...)
}

// appendRaw appends a frame of any type with an arbitrary payload, for
// extension frames and for tests that play a misbehaving peer.
func appendRaw(dst []byte, t FrameType, f Flags, streamID uint32, payload []byte) []byte {
	dst = appendFrameHeader(dst, len(payload), t, f, streamID)
	return append(dst, payload...)
}
