package h2

// Padding (RFC 9113 §6.1, §6.2), like Node's paddingStrategy and
// selectPadding: HEADERS (trailers included) and DATA frames may carry up to
// 255 bytes of padding, to blur the sizes of what they carry. DATA padding
// counts against flow control as data does, so the writer pads a DATA frame
// only as far as both send windows allow.

// PaddingStrategy chooses a frame's padded payload length: given frameLen,
// the payload without padding, and maxFrameLen, the most it may grow to
// (the Pad Length octet included), it returns a length between them. One
// above frameLen adds only the Pad Length octet; frameLen itself sends the
// frame unpadded. It runs on the session's writer goroutine and must be
// quick. Nil (the default) pads nothing.
type PaddingStrategy func(frameLen, maxFrameLen int) int

var (
	// PadMax pads every frame as far as allowed (Node's PADDING_STRATEGY_MAX).
	PadMax PaddingStrategy = func(_, maxFrameLen int) int { return maxFrameLen }
	// PadAligned pads a frame so that its length, 9-octet header included,
	// is a multiple of 8 where it can (Node's PADDING_STRATEGY_ALIGNED).
	PadAligned PaddingStrategy = padAligned
)

func padAligned(frameLen, maxFrameLen int) int {
	if (frameLen+frameHeaderLen)%8 == 0 {
		return frameLen
	}
	n := frameLen + 1 // the Pad Length octet
	n += (8 - (n+frameHeaderLen)%8) % 8
	return min(n, maxFrameLen)
}

// maxPad is the most padding one frame carries: the Pad Length octet is one byte.
const maxPad = 255

// padding asks the strategy how to pad a frame of frameLen payload bytes
// that may grow to limit; extra is what padding adds (Pad Length octet
// included; 0: unpadded), pad the padding bytes proper.
func (s *Session) padding(frameLen, limit int) (extra, pad int) {
	strategy := s.opts.Padding
	maxLen := min(limit, frameLen+1+maxPad)
	if strategy == nil || maxLen <= frameLen {
		return 0, 0
	}
	total := max(frameLen, min(strategy(frameLen, maxLen), maxLen))
	if total == frameLen {
		return 0, 0
	}
	return total - frameLen, total - frameLen - 1
}

// appendPaddedData appends a DATA frame with padding (extra > 0: the Pad
// Length octet and pad zero bytes).
func appendPaddedData(dst []byte, streamID uint32, endStream bool, data []byte, extra, pad int) []byte {
	if extra == 0 {
		return appendData(dst, streamID, endStream, data)
	}
	f := FlagPadded
	if endStream {
		f |= FlagEndStream
	}
	dst = appendFrameHeader(dst, len(data)+extra, FrameData, f, streamID)
	dst = append(dst, byte(pad))
	dst = append(dst, data...)
	return append(dst, make([]byte, pad)...)
}

// appendPaddedHeaders appends a HEADERS frame like appendHeaders, padded
// when extra > 0.
func appendPaddedHeaders(dst []byte, streamID uint32, endStream, endHeaders bool, prio *PriorityParam, frag []byte, extra, pad int) []byte {
	if extra == 0 {
		return appendHeaders(dst, streamID, endStream, endHeaders, prio, frag)
	}
	f := FlagPadded
	n := len(frag) + extra
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
	dst = append(dst, byte(pad))
	if prio != nil {
		dst = appendPriorityParam(dst, *prio)
	}
	dst = append(dst, frag...)
	return append(dst, make([]byte, pad)...)
}
