package rpc

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/h2"
)

// The codec registry: a request's content-type chooses the codec by its
// content-subtype ("application/grpc+json": "json"; none: proto), and the
// response says which in its own content-type. Built in: proto and json.

// codecEntry is a registered codec with the header values that name it,
// built once so that a call never builds a string for its content-type.
type codecEntry struct {
	codec       Codec
	contentType string    // "application/grpc+NAME"
	respHeader  h2.Header // ":status 200" and contentType, shared read-only
}

// protoEntry is the default: plain "application/grpc", answered likewise.
var protoEntry = &codecEntry{codec: ProtoCodec, contentType: "application/grpc", respHeader: hdrOK}

var (
	codecMu sync.Mutex                             // serializes RegisterCodec
	codecs  atomic.Pointer[map[string]*codecEntry] // copied on write: looked up on every call without a lock
)

func init() {
	RegisterCodec(ProtoCodec)
	RegisterCodec(JSONCodec)
}

// RegisterCodec makes c available under c.Name(): servers pick it for
// requests whose content-type is application/grpc+NAME, clients use it with
// CallContentSubtype(NAME). A codec registered under a name already taken
// replaces the earlier one. It panics when the name is not a lower-case
// token (it goes into the content-type header).
func RegisterCodec(c Codec) {
	name := c.Name()
	if !validSubtype(name) {
		panic(fmt.Sprintf("rpc: invalid codec name %q: want lower-case letters, digits and -._", name))
	}
	ct := "application/grpc+" + name
	e := &codecEntry{codec: c, contentType: ct,
		respHeader: h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: ct}}}
	codecMu.Lock()
	defer codecMu.Unlock()
	next := make(map[string]*codecEntry)
	if cur := codecs.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	next[name] = e
	codecs.Store(&next)
}

// GetCodec returns the codec registered under the content-subtype name
// (lower case), or nil.
func GetCodec(name string) Codec {
	if e := codecEntryFor(name); e != nil {
		return e.codec
	}
	return nil
}

func codecEntryFor(name string) *codecEntry {
	return (*codecs.Load())[name]
}

func validSubtype(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// codecForContentType returns the codec a request's content-type asks for:
// proto for "application/grpc" (parameters after ';' aside), the registered
// codec for "application/grpc+NAME" (NAME compared in lower case), nil when
// the content-type is not gRPC or names no registered codec.
func codecForContentType(ct string) *codecEntry {
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	if !ok {
		return nil
	}
	if rest == "" || rest[0] == ';' {
		return protoEntry
	}
	if rest[0] != '+' {
		return nil // "application/grpcfoo"
	}
	sub := rest[1:]
	if i := strings.IndexByte(sub, ';'); i >= 0 {
		sub = sub[:i]
	}
	sub = strings.TrimSpace(sub)
	if e := codecEntryFor(sub); e != nil {
		return e
	}
	// Media types are case-insensitive; the lower-casing allocates, so only
	// names that are not already lower case pay for it.
	if lower := strings.ToLower(sub); lower != sub {
		return codecEntryFor(lower)
	}
	return nil
}
