package rpc

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS lets browsers on other origins call a server through ServeHTTP
// (Connect and gRPC-Web from fetch): it answers preflight requests and
// exposes the response headers the protocols need. Without it a browser
// only calls a server on its own origin.
type CORS struct {
	// AllowedOrigins lists the origins ("https://app.example.com") that
	// may call; "*" allows any.
	AllowedOrigins []string
	// AllowedHeaders adds request headers beyond the protocols' own
	// (CORSAllowedHeaders): the metadata keys clients send. "*" allows
	// whatever a preflight asks for.
	AllowedHeaders []string
	// ExposedHeaders adds response headers beyond the protocols' own
	// (CORSExposedHeaders): the header and trailer metadata keys the
	// browser's script may read.
	ExposedHeaders []string
	// AllowCredentials lets requests carry cookies and client certificates.
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight's answer.
	MaxAge time.Duration
}

// WithCORS serves cross-origin requests from browsers as c says (ServeHTTP
// only: browsers do not speak our engine's HTTP/2 without TLS anyway, and
// Serve answers only gRPC-style POSTs).
func WithCORS(c CORS) ServerOption {
	return func(o *serverOptions) { o.cors = &c }
}

// CORSAllowedMethods are the HTTP methods the protocols use: POST, and GET
// for Connect calls of side-effect-free methods.
func CORSAllowedMethods() []string { return []string{"GET", "POST"} }

// CORSAllowedHeaders are the request headers gRPC-Web and Connect clients
// send beyond the CORS-safelisted ones, for a CORS middleware of your own.
func CORSAllowedHeaders() []string {
	return []string{
		"Content-Type", "Content-Encoding", "Accept-Encoding",
		"Connect-Protocol-Version", "Connect-Timeout-Ms", "Connect-Content-Encoding", "Connect-Accept-Encoding",
		"Grpc-Timeout", "Grpc-Encoding", "Grpc-Accept-Encoding", "X-Grpc-Web", "X-User-Agent",
	}
}

// CORSExposedHeaders are the response headers gRPC-Web and Connect
// clients read beyond the CORS-safelisted ones.
func CORSExposedHeaders() []string {
	return []string{
		"Content-Encoding", "Connect-Content-Encoding", "Connect-Accept-Encoding",
		"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "Grpc-Encoding", "Grpc-Accept-Encoding",
	}
}

// handle adds the CORS headers to a request from an allowed origin and
// answers it when it is a preflight; it reports whether it answered.
func (c *CORS) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.allows(origin) {
		if preflight {
			w.WriteHeader(http.StatusForbidden)
		}
		return preflight
	}
	if slices.Contains(c.AllowedOrigins, "*") && !c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if !preflight {
		h.Set("Access-Control-Expose-Headers", strings.Join(append(CORSExposedHeaders(), c.ExposedHeaders...), ", "))
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", strings.Join(CORSAllowedMethods(), ", "))
	allowed := strings.Join(append(CORSAllowedHeaders(), c.AllowedHeaders...), ", ")
	if slices.Contains(c.AllowedHeaders, "*") {
		if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
			allowed = asked
		}
	}
	h.Set("Access-Control-Allow-Headers", allowed)
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge/time.Second)))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (c *CORS) allows(origin string) bool {
	for _, o := range c.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
