package h2

import (
	"strconv"
	"strings"
)

// HeaderField is one name/value pair of a header list. Sensitive fields are
// never added to an HPACK dynamic table (RFC 7541 §7.1.3), for secrets such as
// authorization tokens.
type HeaderField struct {
	Name, Value string
	Sensitive   bool
}

// Header is an ordered header list. Pseudo-header fields (":method", ":path",
// ":status", ...) are ordinary entries and come first.
//
// HTTP/2 field names are lowercase on the wire (RFC 9113 §8.2.1). The one rule
// here: Add, Set and Del lowercase the name they are given, and Get, Values
// and Has look a name up as if lowercased, so "Content-Type" and
// "content-type" are the same field. Fields appended to the slice directly
// are sent as written and refused at send time if not lowercase.
type Header []HeaderField

// Get returns the first value of name, or "".
func (h Header) Get(name string) string {
	name = lowerName(name)
	for i := range h {
		if h[i].Name == name {
			return h[i].Value
		}
	}
	return ""
}

// Values returns all values of name in order.
func (h Header) Values(name string) []string {
	name = lowerName(name)
	var vs []string
	for i := range h {
		if h[i].Name == name {
			vs = append(vs, h[i].Value)
		}
	}
	return vs
}

// Has reports whether name is present.
func (h Header) Has(name string) bool {
	name = lowerName(name)
	for i := range h {
		if h[i].Name == name {
			return true
		}
	}
	return false
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	*h = append(*h, HeaderField{Name: lowerName(name), Value: value})
}

// Set replaces all fields of name with one field, keeping its first position.
func (h *Header) Set(name, value string) {
	name = lowerName(name)
	out := (*h)[:0]
	done := false
	for _, f := range *h {
		if f.Name == name {
			if done {
				continue
			}
			f.Value, done = value, true
		}
		out = append(out, f)
	}
	if !done {
		out = append(out, HeaderField{Name: name, Value: value})
	}
	*h = out
}

// Del removes all fields of name.
func (h *Header) Del(name string) {
	name = lowerName(name)
	out := (*h)[:0]
	for _, f := range *h {
		if f.Name != name {
			out = append(out, f)
		}
	}
	*h = out
}

// lowerName returns name with ASCII letters lowercased, without allocating
// when it already is lowercase (the common case: names are constants).
func lowerName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// Clone returns a copy that shares no storage with h.
func (h Header) Clone() Header { return append(Header(nil), h...) }

// size is the header list size of RFC 9113 §6.5.2: name + value + 32 per field.
func (f HeaderField) size() uint32 { return uint32(len(f.Name) + len(f.Value) + 32) }

func headerListSize(h Header) uint32 {
	var n uint32
	for _, f := range h {
		n += f.size()
	}
	return n
}

// validFieldName reports whether name is a lowercase token (RFC 9113 §8.2.1):
// uppercase letters and separators make a request malformed.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !tokenLower[name[i]] {
			return false
		}
	}
	return true
}

// tokenLower marks the bytes a field name may hold: RFC 9110 token
// characters, less uppercase letters.
var tokenLower = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = !(c >= 'A' && c <= 'Z' || strings.IndexByte(`"(),/:;<=>?@[\]{}`, byte(c)) >= 0)
	}
	return
}()

// validFieldValue reports whether v may be sent or accepted as a field value
// (RFC 9113 §8.2.1): no NUL, CR or LF, and no leading or trailing whitespace.
func validFieldValue(v string) bool {
	if v == "" {
		return true
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return false
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if badInValue[v[i]] {
			return false
		}
	}
	return true
}

var badInValue = [256]bool{0: true, '\r': true, '\n': true}

// connectionSpecific lists the fields §8.2.2 forbids in HTTP/2.
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// headerKind says which kind of header block is being checked.
type headerKind uint8

const (
	kindRequest headerKind = iota
	kindResponse
	kindTrailers
)

// checkHeaderBlock validates a received header list per RFC 9113 §8.2 and §8.3.
// It returns the request content-length (-1 if absent) and a reason when the
// block is malformed; malformed blocks are stream errors of type PROTOCOL_ERROR.
func checkHeaderBlock(h Header, kind headerKind) (contentLength int64, reason string) {
	contentLength = -1
	regularSeen := false
	var method, scheme, path, authority, protocol, status int
	for _, f := range h {
		if !validFieldValue(f.Value) {
			return -1, "invalid characters in value of " + strconv.Quote(f.Name)
		}
		if strings.HasPrefix(f.Name, ":") {
			if regularSeen {
				return -1, "pseudo-header " + f.Name + " after regular fields"
			}
			if kind == kindTrailers {
				return -1, "pseudo-header " + f.Name + " in trailers"
			}
			var counter *int
			switch {
			case kind == kindRequest && f.Name == ":method":
				counter = &method
			case kind == kindRequest && f.Name == ":scheme":
				counter = &scheme
			case kind == kindRequest && f.Name == ":path":
				counter = &path
				if f.Value == "" {
					return -1, "empty :path"
				}
			case kind == kindRequest && f.Name == ":authority":
				counter = &authority
			case kind == kindRequest && f.Name == ":protocol":
				counter = &protocol
			case kind == kindResponse && f.Name == ":status":
				counter = &status
				if v := f.Value; len(v) != 3 || v[0] < '1' || v[0] > '9' || !isDigit(v[1]) || !isDigit(v[2]) {
					return -1, "malformed :status " + strconv.Quote(f.Value)
				}
			default:
				return -1, "unexpected pseudo-header " + f.Name
			}
			if *counter++; *counter > 1 {
				return -1, "duplicate pseudo-header " + f.Name
			}
			continue
		}
		regularSeen = true
		if !validFieldName(f.Name) {
			return -1, "invalid field name " + strconv.Quote(f.Name)
		}
		if connectionSpecific(f.Name) {
			return -1, "connection-specific field " + f.Name
		}
		if f.Name == "te" && f.Value != "trailers" {
			return -1, `"te" other than "trailers"`
		}
		if f.Name == "content-length" && kind != kindTrailers {
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || n < 0 || contentLength >= 0 && contentLength != n {
				return -1, "malformed content-length"
			}
			contentLength = n
		}
	}
	switch kind {
	case kindRequest:
		m := h.Get(":method")
		if method != 1 {
			return -1, "missing :method"
		}
		if protocol != 0 && m != "CONNECT" {
			return -1, ":protocol in a request other than CONNECT"
		}
		if m == "CONNECT" && protocol == 0 {
			if scheme != 0 || path != 0 || authority != 1 {
				return -1, "malformed CONNECT request"
			}
		} else if scheme != 1 || path != 1 {
			return -1, "missing :scheme or :path"
		}
	case kindResponse:
		if status != 1 {
			return -1, "missing :status"
		}
	}
	return contentLength, ""
}
