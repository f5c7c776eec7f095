package rpc

import "strings"

// grpc-message is percent-encoded: every byte outside printable ASCII, and
// '%' itself, becomes %XX. UTF-8 text thus survives any HTTP/2 hop.

const hexUpper = "0123456789ABCDEF"

func needsPercent(c byte) bool { return c < 0x20 || c > 0x7e || c == '%' }

// encodeGrpcMessage percent-encodes msg, returning it unchanged (no
// allocation) when nothing needs escaping, which is the common case.
func encodeGrpcMessage(msg string) string {
	i := 0
	for i < len(msg) && !needsPercent(msg[i]) {
		i++
	}
	if i == len(msg) {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg) + 16)
	b.WriteString(msg[:i])
	for ; i < len(msg); i++ {
		c := msg[i]
		if needsPercent(c) {
			b.WriteByte('%')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeGrpcMessage reverses encodeGrpcMessage. The spec asks receivers to
// keep malformed escapes verbatim rather than fail, since the message is
// for humans.
func decodeGrpcMessage(msg string) string {
	if strings.IndexByte(msg, '%') < 0 {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '%' && i+2 < len(msg) {
			hi, ok1 := unhex(msg[i+1])
			lo, ok2 := unhex(msg[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
