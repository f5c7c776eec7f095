package metadata

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// MD maps lower-case keys to their values. Keys ending in "-bin" hold
// arbitrary bytes; the transport base64-encodes them on the wire.
type MD map[string][]string

// New builds an MD from a map, lower-casing the keys.
func New(m map[string]string) MD {
	md := make(MD, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		md[k] = append(md[k], v)
	}
	return md
}

// Pairs builds an MD from alternating keys and values, lower-casing the keys.
// An odd number of arguments is a programming error and panics, as a
// missing value cannot be guessed.
func Pairs(kv ...string) MD {
	if len(kv)%2 == 1 {
		panic(fmt.Sprintf("metadata: Pairs got an odd number of arguments: %d", len(kv)))
	}
	md := make(MD, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		md[k] = append(md[k], kv[i+1])
	}
	return md
}

// Len returns the number of keys.
func (md MD) Len() int { return len(md) }

// Copy returns a deep copy.
func (md MD) Copy() MD {
	if md == nil {
		return nil
	}
	out := make(MD, len(md))
	for k, v := range md {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Get returns the values for key (case-insensitive).
func (md MD) Get(key string) []string { return md[strings.ToLower(key)] }

// Set replaces the values for key (case-insensitive). Setting no values
// deletes the key.
func (md MD) Set(key string, vals ...string) {
	key = strings.ToLower(key)
	if len(vals) == 0 {
		delete(md, key)
		return
	}
	md[key] = vals
}

// Append adds values to key (case-insensitive).
func (md MD) Append(key string, vals ...string) {
	if len(vals) == 0 {
		return
	}
	key = strings.ToLower(key)
	md[key] = append(md[key], vals...)
}

// Delete removes key (case-insensitive).
func (md MD) Delete(key string) { delete(md, strings.ToLower(key)) }

// Join merges several MDs into a new one; values for a shared key are
// concatenated in argument order.
func Join(mds ...MD) MD {
	out := MD{}
	for _, md := range mds {
		for k, v := range md {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// ValidateKey reports whether key may be sent: non-empty, only 0-9 a-z - _ .
// (HTTP/2 requires lower case), and not a reserved "grpc-" key or pseudo-header.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("metadata: empty key")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("metadata: key %q contains illegal character %q", key, c)
		}
	}
	if strings.HasPrefix(key, "grpc-") {
		return fmt.Errorf("metadata: key %q is reserved for the gRPC protocol", key)
	}
	return nil
}

// ValidateValue reports whether v may be sent as the value of a non-binary
// key: printable ASCII (0x20-0x7E) only, and no space at either end (HTTP/2
// peers must reject a field value that starts or ends with whitespace).
// Binary keys accept anything.
func ValidateValue(key, v string) error {
	if IsBinKey(key) {
		return nil
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("metadata: value of %q contains non-printable byte 0x%02x; use a -bin key for binary data", key, c)
		}
	}
	if v != "" && (v[0] == ' ' || v[len(v)-1] == ' ') {
		return fmt.Errorf("metadata: value of %q starts or ends with a space", key)
	}
	return nil
}

// Validate checks every key and value of md.
func (md MD) Validate() error {
	for k, vs := range md {
		if err := ValidateKey(k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := ValidateValue(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsBinKey reports whether key names a binary value.
func IsBinKey(key string) bool { return strings.HasSuffix(key, "-bin") }

// EncodeBin encodes a binary value for the wire: unpadded standard base64,
// which the spec says senders should emit.
func EncodeBin(v string) string { return base64.RawStdEncoding.EncodeToString([]byte(v)) }

// DecodeBin decodes a binary value from the wire, accepting padded and
// unpadded base64 as the spec requires of receivers.
func DecodeBin(v string) (string, error) {
	if len(v)%4 == 0 && strings.HasSuffix(v, "=") {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", fmt.Errorf("metadata: bad base64 in binary value: %w", err)
		}
		return string(b), nil
	}
	b, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil {
		return "", fmt.Errorf("metadata: bad base64 in binary value: %w", err)
	}
	return string(b), nil
}

type incomingKey struct{}
type outgoingKey struct{}

// outgoing keeps the base MD and the pairs appended later separately, so
// AppendToOutgoingContext does not copy the map on every call.
type outgoing struct {
	md    MD
	added [][]string
}

// NewIncomingContext attaches md as received metadata. The transport calls
// it; tests of handlers may too.
func NewIncomingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, incomingKey{}, md)
}

// FromIncomingContext returns a copy of the received metadata, so handlers
// may modify it freely.
func FromIncomingContext(ctx context.Context) (MD, bool) {
	md, ok := ctx.Value(incomingKey{}).(MD)
	if !ok {
		return nil, false
	}
	if md == nil {
		return MD{}, true // a transport may store nil for "none"; callers may write to the result
	}
	return md.Copy(), true
}

// ValueFromIncomingContext returns the received values of key without
// copying the whole MD.
func ValueFromIncomingContext(ctx context.Context, key string) []string {
	md, _ := ctx.Value(incomingKey{}).(MD)
	vs := md[strings.ToLower(key)]
	if vs == nil {
		return nil
	}
	return append([]string(nil), vs...)
}

// NewOutgoingContext replaces the metadata to send on calls made with ctx.
func NewOutgoingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, outgoingKey{}, &outgoing{md: md})
}

// AppendToOutgoingContext adds pairs to the metadata to send, keeping what
// is already there. An odd number of arguments panics, like Pairs.
func AppendToOutgoingContext(ctx context.Context, kv ...string) context.Context {
	if len(kv)%2 == 1 {
		panic(fmt.Sprintf("metadata: AppendToOutgoingContext got an odd number of arguments: %d", len(kv)))
	}
	old, _ := ctx.Value(outgoingKey{}).(*outgoing)
	o := &outgoing{}
	if old != nil {
		o.md = old.md
		o.added = make([][]string, len(old.added), len(old.added)+1)
		copy(o.added, old.added)
	}
	pairs := make([]string, len(kv))
	for i := range kv {
		if i%2 == 0 {
			pairs[i] = strings.ToLower(kv[i])
		} else {
			pairs[i] = kv[i]
		}
	}
	o.added = append(o.added, pairs)
	return context.WithValue(ctx, outgoingKey{}, o)
}

// FromOutgoingContext returns a copy of the metadata to send, merged.
func FromOutgoingContext(ctx context.Context) (MD, bool) {
	o, ok := ctx.Value(outgoingKey{}).(*outgoing)
	if !ok {
		return nil, false
	}
	out := make(MD, len(o.md))
	for k, v := range o.md {
		k = strings.ToLower(k)
		out[k] = append(out[k], v...)
	}
	for _, pairs := range o.added {
		for i := 0; i < len(pairs); i += 2 {
			out[pairs[i]] = append(out[pairs[i]], pairs[i+1])
		}
	}
	return out, true
}

// RangeOutgoing calls fn for every outgoing key/value pair without building
// a merged MD; the transport uses it so that metadata costs no allocation
// beyond the headers themselves. Keys of the base MD are passed as stored.
func RangeOutgoing(ctx context.Context, fn func(key, value string)) {
	o, ok := ctx.Value(outgoingKey{}).(*outgoing)
	if !ok {
		return
	}
	for k, vs := range o.md {
		for _, v := range vs {
			fn(k, v)
		}
	}
	for _, pairs := range o.added {
		for i := 0; i < len(pairs); i += 2 {
			fn(pairs[i], pairs[i+1])
		}
	}
}

// IsIncomingKey reports whether key is the context key of incoming
// metadata. Transports that carry per-call state in their own context type
// use it to answer Value lookups without an extra context layer.
func IsIncomingKey(key any) bool {
	_, ok := key.(incomingKey)
	return ok
}
