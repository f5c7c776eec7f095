package rpc

import (
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Connect's JSON on the sending side, written directly: a unary error body
// and a stream's end-of-stream message. encoding/json's reflection cost
// three allocations and most of the encoding time of each; the output is
// byte for byte what json.Marshal makes of connectError and
// connectEndStream (protocol_connect_json_test.go checks it).

// appendConnectErrorJSON appends e as JSON. The sending side never sets a
// detail's Debug, so it is not written.
func appendConnectErrorJSON(dst []byte, e *connectError) []byte {
	dst = append(dst, `{"code":`...)
	dst = appendJSONString(dst, e.Code)
	if e.Message != "" {
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, e.Message)
	}
	if len(e.Details) > 0 {
		dst = append(dst, `,"details":[`...)
		for i := range e.Details {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"type":`...)
			dst = appendJSONString(dst, e.Details[i].Type)
			dst = append(dst, `,"value":`...)
			dst = appendJSONString(dst, e.Details[i].Value)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendConnectEndStreamJSON appends the end-of-stream message for st (an
// error unless OK) and the trailer metadata, keys in sorted order as
// json.Marshal writes a map's.
func appendConnectEndStreamJSON(dst []byte, st *status.Status, trailer metadata.MD) []byte {
	md := connectMetadataJSON(trailer)
	dst = append(dst, '{')
	if st.Code() != 0 {
		dst = append(dst, `"error":`...)
		dst = appendConnectErrorJSON(dst, newConnectError(st))
	}
	if len(md) > 0 {
		if st.Code() != 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"metadata":{`...)
		for i, k := range slices.Sorted(maps.Keys(md)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ":["...)
			for j, v := range md[k] {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, v)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes by default: quote and backslash; control characters (\b, \f, \n,
// \r, \t by name, the others as \u00XX); <, > and & (HTML-safe); U+2028 and
// U+2029 (JavaScript-safe); and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	done := 0 // s[:done] is in dst
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			esc := ""
			switch {
			case c == '"':
				esc = `\"`
			case c == '\\':
				esc = `\\`
			case c == '\b':
				esc = `\b`
			case c == '\f':
				esc = `\f`
			case c == '\n':
				esc = `\n`
			case c == '\r':
				esc = `\r`
			case c == '\t':
				esc = `\t`
			case c < 0x20 || c == '<' || c == '>' || c == '&':
			default:
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			if esc != "" {
				dst = append(dst, esc...)
			} else {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"')
}
