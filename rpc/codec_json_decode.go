package rpc

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The JSON codec's decoder for what its encoder writes (codec_json_encode.go)
// and what other stacks write for the same messages: the JSON mapping's
// canonical forms (names in lowerCamel or as declared, 64-bit integers
// quoted or not, NaN and the infinities as strings, bytes in padded
// standard base64, enums by name or number, any whitespace). protojson
// cost 15 allocations and a third of a small Connect JSON call's CPU to
// decode a message with a bytes field; this costs what protobuf's
// reflection needs to set what the message holds (5 there).
//
// Anything else goes to protojson, which resets the message and decodes it
// again, so that what is accepted and refused, and with which error, stays
// protojson's: the well-known types, extensions, groups, required fields,
// null, unknown or duplicate fields, numbers in other forms (floats in
// strings, exponents on integers, numbers of closed enums), other base64
// alphabets, escapes in field names, lone surrogates, invalid UTF-8, and any
// malformed JSON.

// maxJSONDepth bounds the nesting this decoder follows; deeper messages go
// to protojson and its own limit.
const maxJSONDepth = 64

// unmarshalProtoJSON decodes b into m, which must be empty. false: b is not
// in the forms this decoder reads, and m is to be reset and decoded by
// protojson.
func unmarshalProtoJSON(b []byte, m protoreflect.Message) bool {
	d := jsonDecoder{b: b}
	if !d.message(m) {
		return false
	}
	d.space()
	return d.i == len(d.b)
}

type jsonDecoder struct {
	b     []byte
	i     int
	depth int
}

func (d *jsonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume skips c, after whitespace, if it comes next.
func (d *jsonDecoder) consume(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal skips the word w (true, false) if it comes next, whole.
func (d *jsonDecoder) literal(w string) bool {
	end := d.i + len(w)
	if end > len(d.b) || string(d.b[d.i:end]) != w || end < len(d.b) && isWordByte(d.b[end]) {
		return false
	}
	d.i = end
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// message reads an object into m.
func (d *jsonDecoder) message(m protoreflect.Message) bool {
	md := m.Descriptor()
	if md.ParentFile().Package() == "google.protobuf" || md.ExtensionRanges().Len() > 0 || md.RequiredNumbers().Len() > 0 {
		return false
	}
	if d.depth++; d.depth > maxJSONDepth {
		return false
	}
	defer func() { d.depth-- }()
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	fields := md.Fields()
	var seen, seenOneofs uint64
	next := 0 // the field expected next: encoders write in declaration order
	for {
		d.space()
		name, ok := d.rawString()
		if !ok || !d.consume(':') {
			return false
		}
		fd := fieldByJSONName(fields, name, &next)
		if fd == nil || fd.Index() >= 64 || seen&(1<<fd.Index()) != 0 {
			return false // unknown (skipped by protojson), or a duplicate (its error)
		}
		seen |= 1 << fd.Index()
		d.space()
		switch {
		case fd.IsMap():
			ok = d.mapEntries(m.Mutable(fd).Map(), fd)
		case fd.IsList():
			ok = d.list(m.Mutable(fd).List(), fd)
		default:
			if od := fd.ContainingOneof(); od != nil {
				if od.Index() >= 64 || seenOneofs&(1<<od.Index()) != 0 {
					return false
				}
				seenOneofs |= 1 << od.Index()
			}
			if fd.Kind() == protoreflect.MessageKind {
				ok = d.message(m.Mutable(fd).Message())
				break
			}
			var v protoreflect.Value
			if v, ok = d.scalar(fd); ok {
				m.Set(fd, v)
			}
		}
		if !ok {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// fieldByJSONName finds the field a JSON name names: its JSON name, or its
// name as declared (as protojson looks them up), starting at *next.
func fieldByJSONName(fields protoreflect.FieldDescriptors, name []byte, next *int) protoreflect.FieldDescriptor {
	n := fields.Len()
	for k := range n {
		i := (*next + k) % n
		if fd := fields.Get(i); string(name) == fd.JSONName() {
			*next = i + 1
			return fd
		}
	}
	for i := range n {
		if fd := fields.Get(i); string(name) == fd.TextName() {
			*next = i + 1
			return fd
		}
	}
	return nil
}

func (d *jsonDecoder) list(l protoreflect.List, fd protoreflect.FieldDescriptor) bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		d.space()
		if fd.Kind() == protoreflect.MessageKind {
			v := l.NewElement()
			if !d.message(v.Message()) {
				return false
			}
			l.Append(v)
		} else {
			v, ok := d.scalar(fd)
			if !ok {
				return false
			}
			l.Append(v)
		}
		if d.consume(',') {
			continue
		}
		return d.consume(']')
	}
}

func (d *jsonDecoder) mapEntries(mp protoreflect.Map, fd protoreflect.FieldDescriptor) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	kd, vd := fd.MapKey(), fd.MapValue()
	for {
		d.space()
		var k protoreflect.MapKey
		var ok bool
		if kd.Kind() == protoreflect.StringKind {
			var v protoreflect.Value
			if v, ok = d.stringValue(); ok {
				k = v.MapKey()
			}
		} else if raw, rawOK := d.rawString(); rawOK {
			k, ok = mapKeyFromJSON(raw, kd.Kind())
		}
		if !ok || !d.consume(':') || mp.Has(k) {
			return false // a duplicate key is protojson's error
		}
		d.space()
		var v protoreflect.Value
		if vd.Kind() == protoreflect.MessageKind {
			v = mp.NewValue()
			ok = d.message(v.Message())
		} else {
			v, ok = d.scalar(vd)
		}
		if !ok {
			return false
		}
		mp.Set(k, v)
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// mapKeyFromJSON reads a bool or integer map key from its JSON name.
func mapKeyFromJSON(raw []byte, kind protoreflect.Kind) (protoreflect.MapKey, bool) {
	switch kind {
	case protoreflect.BoolKind:
		switch string(raw) {
		case "true":
			return protoreflect.ValueOfBool(true).MapKey(), true
		case "false":
			return protoreflect.ValueOfBool(false).MapKey(), true
		}
		return protoreflect.MapKey{}, false
	}
	v, ok := integerValue(raw, kind)
	if !ok {
		return protoreflect.MapKey{}, false
	}
	return v.MapKey(), true
}

// scalar reads a value of fd's kind other than a message.
func (d *jsonDecoder) scalar(fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	switch kind := fd.Kind(); kind {
	case protoreflect.BoolKind:
		switch {
		case d.literal("true"):
			return protoreflect.ValueOfBool(true), true
		case d.literal("false"):
			return protoreflect.ValueOfBool(false), true
		}
	case protoreflect.StringKind:
		return d.stringValue()
	case protoreflect.BytesKind:
		raw, ok := d.rawString()
		if !ok {
			break
		}
		b, err := base64.StdEncoding.AppendDecode(make([]byte, 0, base64.StdEncoding.DecodedLen(len(raw))), raw)
		return protoreflect.ValueOfBytes(b), err == nil
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if ed.ParentFile().Package() == "google.protobuf" {
			break // NullValue
		}
		if d.i < len(d.b) && d.b[d.i] != '"' {
			if ed.IsClosed() {
				break // a number a closed enum may not know: protojson's to judge
			}
			n, ok := integerValue(d.number(), protoreflect.Int32Kind)
			if !ok {
				break
			}
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n.Int())), true
		}
		raw, ok := d.rawString()
		if !ok {
			break
		}
		values := ed.Values()
		for i := range values.Len() {
			if v := values.Get(i); string(raw) == string(v.Name()) {
				return protoreflect.ValueOfEnum(v.Number()), true
			}
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bits := 64
		if kind == protoreflect.FloatKind {
			bits = 32
		}
		var f float64
		if raw, ok := d.rawString(); ok {
			// Only the special values as strings (what the encoder writes).
			switch string(raw) {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return protoreflect.Value{}, false
			}
		} else {
			num := d.number()
			var err error
			if f, err = strconv.ParseFloat(string(num), bits); len(num) == 0 || err != nil {
				break
			}
		}
		if bits == 32 {
			return protoreflect.ValueOfFloat32(float32(f)), true
		}
		return protoreflect.ValueOfFloat64(f), true
	default: // the integer kinds, a number or a quoted one
		var digits []byte
		if d.i < len(d.b) && d.b[d.i] == '"' {
			raw, ok := d.rawString()
			if !ok {
				break
			}
			digits = raw
		} else {
			digits = d.number()
		}
		return integerValue(digits, kind)
	}
	return protoreflect.Value{}, false
}

// integerValue parses digits ("-" and decimal digits, no leading zero) as
// an integer of kind.
func integerValue(digits []byte, kind protoreflect.Kind) (protoreflect.Value, bool) {
	s := digits
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 1 && s[0] == '0' {
		return protoreflect.Value{}, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return protoreflect.Value{}, false
		}
	}
	switch kind {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(string(digits), 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err == nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(string(digits), 10, 64)
		return protoreflect.ValueOfInt64(n), err == nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(string(digits), 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err == nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(string(digits), 10, 64)
		return protoreflect.ValueOfUint64(n), err == nil
	}
	return protoreflect.Value{}, false
}

// number returns the JSON number that comes next (empty if none): -?int
// frac? exp?, as JSON writes them.
func (d *jsonDecoder) number() []byte {
	start, i, b := d.i, d.i, d.b
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil
		}
	}
	if i < len(b) && (isWordByte(b[i]) || b[i] == '.') {
		return nil
	}
	d.i = i
	return b[start:i]
}

// rawString reads a string without escapes or control characters, and
// returns its bytes (in d.b).
func (d *jsonDecoder) rawString() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[d.i+1 : j]
			d.i = j + 1
			return s, true
		case c == '\\' || c < ' ':
			return nil, false
		}
	}
	return nil, false
}

// stringValue reads a string value, escapes decoded; its text must be
// valid UTF-8.
func (d *jsonDecoder) stringValue() (protoreflect.Value, bool) {
	if raw, ok := d.rawString(); ok {
		if !utf8.Valid(raw) {
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfString(string(raw)), true
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return protoreflect.Value{}, false
	}
	var out []byte
	b := d.b
	for j := d.i + 1; j < len(b); {
		c := b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return protoreflect.Value{}, false
			}
			d.i = j + 1
			return protoreflect.ValueOfString(string(out)), true
		case c < ' ':
			return protoreflect.Value{}, false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(b) {
			return protoreflect.Value{}, false
		}
		j += 2
		switch b[j-1] {
		case '"', '\\', '/':
			out = append(out, b[j-1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b, j)
			if !ok {
				return protoreflect.Value{}, false
			}
			j += 4
			if utf16.IsSurrogate(r) {
				// Only a whole pair: a lone half is protojson's to judge.
				if j+6 > len(b) || b[j] != '\\' || b[j+1] != 'u' {
					return protoreflect.Value{}, false
				}
				lo, ok := hex4(b, j+2)
				if r = utf16.DecodeRune(r, lo); !ok || r == utf8.RuneError {
					return protoreflect.Value{}, false
				}
				j += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return protoreflect.Value{}, false
		}
	}
	return protoreflect.Value{}, false
}

// hex4 reads the four hex digits of a \u escape at b[j:].
func hex4(b []byte, j int) (rune, bool) {
	if j+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[j:j+4]), 16, 32)
	return rune(n), err == nil
}
