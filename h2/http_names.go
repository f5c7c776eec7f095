package h2

import (
	"net/textproto"
	"strings"
)

// Header names cross the bridge in both spellings: lowercase on the wire,
// canonical in net/http's maps. The common ones are looked up in two tables
// built once, so that converting them allocates nothing; the others are
// converted (and allocated) one by one.

var commonNames = []string{
	"accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
	"access-control-allow-credentials", "access-control-allow-headers",
	"access-control-allow-methods", "access-control-allow-origin",
	"access-control-expose-headers", "access-control-max-age",
	"access-control-request-headers", "access-control-request-method",
	"age", "allow", "authorization", "cache-control", "content-disposition",
	"content-encoding", "content-language", "content-length", "content-location",
	"content-range", "content-type", "cookie", "date", "dnt", "etag", "expect",
	"expires", "forwarded", "from", "grpc-encoding", "grpc-message", "grpc-status",
	"host", "if-match", "if-modified-since", "if-none-match", "if-range",
	"if-unmodified-since", "last-modified", "link", "location", "max-forwards",
	"origin", "pragma", "priority", "proxy-authenticate", "proxy-authorization",
	"range", "referer", "refresh", "retry-after", "sec-ch-ua", "sec-ch-ua-mobile",
	"sec-ch-ua-platform", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site",
	"sec-fetch-user", "server", "set-cookie", "strict-transport-security", "te",
	"trailer", "upgrade-insecure-requests", "user-agent", "vary", "via",
	"www-authenticate", "x-content-type-options", "x-forwarded-for",
	"x-forwarded-host", "x-forwarded-proto", "x-frame-options", "x-requested-with",
}

var canonicalOf, lowerOf = func() (canon, lower map[string]string) {
	canon = make(map[string]string, len(commonNames))
	lower = make(map[string]string, len(commonNames))
	for _, n := range commonNames {
		c := textproto.CanonicalMIMEHeaderKey(n)
		canon[n] = c
		lower[c] = n
	}
	return canon, lower
}()

// canonicalName returns net/http's spelling of a lowercase wire name.
func canonicalName(lower string) string {
	if c, ok := canonicalOf[lower]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(lower)
}

// wireName returns the lowercase wire spelling of a net/http map key.
func wireName(name string) string {
	if l, ok := lowerOf[name]; ok {
		return l
	}
	return strings.ToLower(name)
}
