package h2

import (
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// HeaderFromHTTP converts a net/http header map to an HTTP/2 field list: names
// are lowercased, and the connection-specific fields HTTP/2 forbids (RFC 9113
// §8.2.2: Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade,
// the fields the Connection header names, and TE with any value other than
// "trailers") are dropped rather than failing later at send time. Values keep
// their order within a name; names come out sorted, so equal maps give equal
// lists (and HPACK's memo sees the same block twice).
func HeaderFromHTTP(h http.Header) Header {
	return AppendHTTPHeader(nil, h)
}

// AppendHTTPHeader appends h's fields to dst as HeaderFromHTTP converts them,
// so that a caller can put pseudo-header fields first in the same slice.
func AppendHTTPHeader(dst Header, h http.Header) Header {
	hop := connectionNamed(h)
	for _, name := range slices.Sorted(maps.Keys(h)) {
		lower := lowerName(name)
		if connectionSpecific(lower) || hop[lower] {
			continue
		}
		for _, v := range h[name] {
			if lower == "te" && !strings.EqualFold(strings.TrimSpace(v), "trailers") {
				continue
			}
			dst = append(dst, HeaderField{Name: lower, Value: v})
		}
	}
	return dst
}

// HTTP converts the list to a net/http header map with canonical names.
// Pseudo-header fields are left out: net/http carries them as Request and
// Response fields (Method, URL, Host, StatusCode).
func (h Header) HTTP() http.Header {
	out := make(http.Header, len(h))
	for _, f := range h {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		name := textproto.CanonicalMIMEHeaderKey(f.Name)
		out[name] = append(out[name], f.Value)
	}
	return out
}

// connectionNamed returns the lowercased names the Connection header lists,
// which are hop-by-hop for HTTP/1.1 and must not be forwarded (RFC 9110 §7.6.1).
func connectionNamed(h http.Header) map[string]bool {
	vs := h.Values("Connection")
	if len(vs) == 0 {
		return nil
	}
	named := make(map[string]bool)
	for _, v := range vs {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				named[strings.ToLower(tok)] = true
			}
		}
	}
	return named
}
