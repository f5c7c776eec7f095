package rpc

import (
	"cmp"
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The JSON codec's encoder for the messages most calls carry: scalars,
// strings, bytes, enums, nested messages, repeated fields and maps, written
// as protojson writes them (the proto3 JSON mapping: lowerCamel names,
// 64-bit integers and bytes as strings, enums by name, fields in declaration
// order, map keys sorted), without its whitespace, which protojson adds at
// random to keep users from depending on its bytes. protojson cost 14
// allocations to encode a small message with a bytes field (its encoder, a
// scratch slice and a sort per message, the base64 string); this costs none.
//
// What protojson writes by rules of its own is left to it: the well-known
// types (Timestamp, Any, Struct, wrappers...), extensions, groups, required
// fields (it checks they are set), invalid UTF-8 (an error). appendProtoJSON
// then reports false and the codec calls protojson.

// appendProtoJSON appends m's JSON encoding to dst. false: m holds
// something only protojson writes, and what was appended is to be dropped.
func appendProtoJSON(dst []byte, m protoreflect.Message) ([]byte, bool) {
	md := m.Descriptor()
	if md.ParentFile().Package() == "google.protobuf" || md.ExtensionRanges().Len() > 0 {
		return dst, false
	}
	dst = append(dst, '{')
	first := true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Cardinality() == protoreflect.Required {
			return dst, false
		}
		if !m.Has(fd) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		var ok bool
		if dst, ok = appendJSONName(dst, fd.JSONName()); !ok {
			return dst, false
		}
		v := m.Get(fd)
		switch {
		case fd.IsMap():
			dst, ok = appendJSONMap(dst, v.Map(), fd)
		case fd.IsList():
			dst, ok = appendJSONList(dst, v.List(), fd)
		default:
			dst, ok = appendJSONValue(dst, v, fd)
		}
		if !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

func appendJSONName(dst []byte, name string) ([]byte, bool) {
	dst, ok := appendProtoJSONString(dst, name)
	return append(dst, ':'), ok
}

func appendJSONList(dst []byte, l protoreflect.List, fd protoreflect.FieldDescriptor) ([]byte, bool) {
	dst = append(dst, '[')
	for i := range l.Len() {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = appendJSONValue(dst, l.Get(i), fd); !ok {
			return dst, false
		}
	}
	return append(dst, ']'), true
}

// appendJSONMap writes a map's entries in protojson's key order: false
// before true, numbers ascending, strings by byte (code point) order.
func appendJSONMap(dst []byte, mp protoreflect.Map, fd protoreflect.FieldDescriptor) ([]byte, bool) {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	kd, vd := fd.MapKey(), fd.MapValue()
	switch kd.Kind() {
	case protoreflect.BoolKind:
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return cmp.Compare(b2i(a.Bool()), b2i(b.Bool())) })
	case protoreflect.StringKind:
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return cmp.Compare(a.String(), b.String()) })
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return cmp.Compare(a.Uint(), b.Uint()) })
	default: // the signed integer kinds
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return cmp.Compare(a.Int(), b.Int()) })
	}
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		switch kd.Kind() {
		case protoreflect.StringKind:
			dst, ok = appendJSONName(dst, k.String())
		default:
			// Bools and numbers as the key's text, quoted.
			dst = append(dst, '"')
			dst = appendMapKeyText(dst, k, kd.Kind())
			dst, ok = append(dst, '"', ':'), true
		}
		if !ok {
			return dst, false
		}
		if dst, ok = appendJSONValue(dst, mp.Get(k), vd); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func appendMapKeyText(dst []byte, k protoreflect.MapKey, kind protoreflect.Kind) []byte {
	switch kind {
	case protoreflect.BoolKind:
		return strconv.AppendBool(dst, k.Bool())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(dst, k.Uint(), 10)
	}
	return strconv.AppendInt(dst, k.Int(), 10)
}

// appendJSONValue writes one value of fd's kind (an element, for a list).
func appendJSONValue(dst []byte, v protoreflect.Value, fd protoreflect.FieldDescriptor) ([]byte, bool) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(dst, v.Bool()), true
	case protoreflect.StringKind:
		return appendProtoJSONString(dst, v.String())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return strconv.AppendInt(dst, v.Int(), 10), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return strconv.AppendUint(dst, v.Uint(), 10), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		// 64-bit integers are strings: JavaScript's numbers hold 53 bits.
		dst = append(dst, '"')
		return append(strconv.AppendInt(dst, v.Int(), 10), '"'), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		dst = append(dst, '"')
		return append(strconv.AppendUint(dst, v.Uint(), 10), '"'), true
	case protoreflect.FloatKind:
		return appendJSONFloat(dst, v.Float(), 32), true
	case protoreflect.DoubleKind:
		return appendJSONFloat(dst, v.Float(), 64), true
	case protoreflect.BytesKind:
		dst = append(dst, '"')
		return append(base64.StdEncoding.AppendEncode(dst, v.Bytes()), '"'), true
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if ed.ParentFile().Package() == "google.protobuf" {
			return dst, false // NullValue is written as null
		}
		if evd := ed.Values().ByNumber(v.Enum()); evd != nil {
			return appendProtoJSONString(dst, string(evd.Name()))
		}
		return strconv.AppendInt(dst, int64(v.Enum()), 10), true // a value this side does not know
	case protoreflect.MessageKind:
		return appendProtoJSON(dst, v.Message())
	}
	return dst, false // groups
}

// appendJSONFloat writes a float as protojson does: NaN and the infinities
// as strings, the shortest decimal that reads back to the same value, with
// an exponent only for magnitudes below 1e-6 or from 1e21 on (as
// JavaScript's Number.toString), and "e-07" shortened to "e-7".
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if n := len(dst); format == 'e' && n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
		dst[n-2] = dst[n-1]
		dst = dst[:n-1]
	}
	return dst
}

// appendProtoJSONString writes s as a JSON string with protojson's
// escaping, which is not encoding/json's (appendJSONString): only the
// quote, the backslash and control characters are escaped. false: s is
// not valid UTF-8, which protojson refuses with an error of its own.
func appendProtoJSONString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	done := 0 // s[:done] is in dst
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, false
			}
			i += size
			continue
		}
		if c >= ' ' && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[done:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		done = i
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"'), true
}
