package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/h2rpc/h2rpc/internal/registry"
)

// Address is one server a resolver found.
type Address struct {
	// Addr is what the client dials: "host:port", or "unix:/path" for a
	// unix domain socket.
	Addr string
	// ServerName, when set, is the TLS server name to verify for this
	// address instead of the host of the client's authority.
	ServerName string
	// Attributes carry what the resolver knows for the balancer (a weight,
	// a zone). Treat the map as read-only once handed over: the client and
	// balancers share it without copying.
	Attributes map[string]any
}

// Equal reports whether a and b name the same connection: the client keeps
// one subchannel per distinct (Addr, ServerName).
func (a Address) Equal(b Address) bool { return a.Addr == b.Addr && a.ServerName == b.ServerName }

// State is what a resolver knows: the addresses, and optionally a service
// config in gRPC's JSON form (the same as rpc.WithDefaultServiceConfig takes).
type State struct {
	Addresses     []Address
	ServiceConfig string
	Attributes    map[string]any
}

// ClientConn is the client as its resolver sees it. Both methods may be
// called from any goroutine, during Build too, and never block for long.
type ClientConn interface {
	// UpdateState replaces the client's addresses (and service config, when
	// State.ServiceConfig is set). It returns an error when the state is
	// unusable (an invalid service config): the resolver may back off and
	// look again.
	UpdateState(State) error
	// ReportError tells the client that resolution failed. Calls that
	// cannot be served by the addresses already known fail with it.
	ReportError(error)
}

// Target is a parsed target, "scheme://authority/endpoint" or "scheme:endpoint".
type Target struct {
	Raw       string // as given to rpc.NewClient
	Scheme    string
	Authority string // for dns: the DNS server to ask, empty for the system's
	Endpoint  string // what to resolve: "host:port", a path, a comma-separated list
}

// BuildOptions is what the client tells a builder beyond the target.
type BuildOptions struct {
	// Dialer is the client's WithContextDialer, nil when it dials TCP itself.
	// A resolver that talks to a registry can reuse it.
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
}

// Builder makes resolvers for one target scheme.
type Builder interface {
	Build(t Target, cc ClientConn, opts BuildOptions) (Resolver, error)
	Scheme() string
}

// AuthorityOverrider is implemented by builders whose targets do not name
// the :authority to send in their endpoint (unix sockets send "localhost").
type AuthorityOverrider interface {
	OverrideAuthority(Target) string
}

// Resolver watches one target.
type Resolver interface {
	// ResolveNow is a hint to look again soon; it must not block. The
	// client calls it when a connection drops or receives GOAWAY.
	ResolveNow()
	// Close stops the resolver; it must not call the ClientConn afterwards.
	Close()
}

var registered registry.Map[Builder]

// Register makes b the builder for its scheme in every client (call it from
// init). A client can also be given builders of its own (rpc.WithResolvers).
func Register(b Builder) {
	registered.Register(b.Scheme(), b)
}

// Get returns the registered builder for scheme, or nil.
func Get(scheme string) Builder {
	return registered.Get(scheme)
}

func init() {
	Register(passthroughBuilder{})
	Register(NewDNSBuilder(DNSOptions{}))
	Register(unixBuilder{})
}

// ErrNoScheme says that a target has a scheme no builder is registered for.
var ErrNoScheme = errors.New("resolver: no resolver registered for the target's scheme")

// ParseTarget splits raw into a Target. lookup finds a builder by scheme;
// a target whose prefix names none ("localhost:50051", "10.0.0.1:80,10.0.0.2:80")
// is a passthrough endpoint, unless it has "://", which only a scheme can
// explain (an unknown scheme is then an error wrapping ErrNoScheme).
func ParseTarget(raw string, lookup func(scheme string) Builder) (Target, Builder, error) {
	if i := strings.IndexByte(raw, ':'); i > 0 && validScheme(raw[:i]) {
		scheme := strings.ToLower(raw[:i])
		if b := lookup(scheme); b != nil {
			t := Target{Raw: raw, Scheme: scheme}
			rest := raw[i+1:]
			if after, ok := strings.CutPrefix(rest, "//"); ok {
				t.Authority, t.Endpoint, _ = strings.Cut(after, "/")
			} else {
				t.Endpoint = rest
			}
			return t, b, nil
		}
		if strings.HasPrefix(raw[i:], "://") {
			return Target{}, nil, fmt.Errorf("%w: %q", ErrNoScheme, raw)
		}
	}
	return Target{Raw: raw, Scheme: "passthrough", Endpoint: raw}, lookup("passthrough"), nil
}

func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
