package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"time"

	"github.com/h2rpc/h2rpc/rpc/resolver"
)

// DialOption configures a ClientConn.
type DialOption func(*clientConfig)

type clientConfig struct {
	unaryInts      []UnaryClientInterceptor
	streamInts     []StreamClientInterceptor
	unaryInt       UnaryClientInterceptor
	streamInt      StreamClientInterceptor
	tlsConfig      *tls.Config
	securityChosen bool // WithTLS or WithInsecure was given
	dialer         func(ctx context.Context, addr string) (net.Conn, error)
	keepalive      ClientParameters
	backoff        BackoffConfig
	minConnect     time.Duration
	callOpts       []CallOption
	authority      string
	userAgent      string
	windowSize     uint32
	connWindowSize uint32
	maxRetries     int
	stats          StatsHandler
	hooks          statsHooks         // stats' optional extensions (stats_events.go)
	resolvers      []resolver.Builder // WithResolvers: this client's own, before the registered ones
	defaultSC      string             // WithDefaultServiceConfig
	// disableServiceConfig ignores the resolver's service configs.
	disableServiceConfig bool
	proxy                func(addr string) (*url.URL, error) // WithProxy; nil: the environment's
	perRPC               []PerRPCCredentials                 // WithPerRPCCredentials (client_credentials.go)
	insecureCreds        bool                                // WithInsecurePerRPCCredentials
	protocol             Protocol                            // client_http.go
	httpClient           HTTPClient                          // for gRPC-Web and Connect
	httpGet              bool                                // Connect GET for side-effect-free methods
	http1                bool                                // WithHTTP1: our own HTTP/1.1 (client_http1.go)
}

// ClientParameters make the client ping an idle connection after Time and
// drop it when the ack takes longer than Timeout. Servers police pings
// (see EnforcementPolicy): keep Time at or above their MinTime.
type ClientParameters struct {
	Time                time.Duration
	Timeout             time.Duration
	PermitWithoutStream bool
}

// BackoffConfig is the reconnection backoff; the defaults are those of
// the gRPC connection-backoff spec.
type BackoffConfig struct {
	BaseDelay  time.Duration // 1s
	Multiplier float64       // 1.6
	Jitter     float64       // 0.2
	MaxDelay   time.Duration // 120s
}

// DefaultBackoffConfig is the gRPC connection-backoff spec's configuration.
var DefaultBackoffConfig = BackoffConfig{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 120 * time.Second}

// ConnectParams set the backoff and the minimum time one connection
// attempt may take (default 20s).
type ConnectParams struct {
	Backoff           BackoffConfig
	MinConnectTimeout time.Duration
}

// WithTLS connects with TLS (ALPN "h2"). An empty ServerName is filled from
// the target's host; a nil config means the system's roots. A client needs
// WithTLS or WithInsecure: the last one given wins.
func WithTLS(c *tls.Config) DialOption {
	return func(o *clientConfig) {
		if c == nil {
			c = &tls.Config{}
		}
		o.tlsConfig, o.securityChosen = c, true
	}
}

// WithInsecure connects in cleartext (h2c with prior knowledge), like
// grpc-go's insecure.NewCredentials(). It must be asked for: a client made
// with neither WithTLS nor WithInsecure is refused, so that a dropped TLS
// option cannot silently send calls in the clear.
func WithInsecure() DialOption {
	return func(o *clientConfig) { o.tlsConfig, o.securityChosen = nil, true }
}

// errNoSecurity says what to add when neither WithTLS nor WithInsecure was given.
var errNoSecurity = errors.New("rpc: no transport security chosen: add rpc.WithTLS(cfg) to connect with TLS, or rpc.WithInsecure() for cleartext h2c")

// WithContextDialer replaces TCP dialing, e.g. with an InMemoryListener's Dial.
func WithContextDialer(f func(ctx context.Context, addr string) (net.Conn, error)) DialOption {
	return func(o *clientConfig) { o.dialer = f }
}

// WithUnaryInterceptor sets the outermost unary interceptor.
func WithUnaryInterceptor(i UnaryClientInterceptor) DialOption {
	return func(o *clientConfig) { o.unaryInts = append([]UnaryClientInterceptor{i}, o.unaryInts...) }
}

// WithChainUnaryInterceptor adds unary interceptors; the first listed is outermost.
func WithChainUnaryInterceptor(is ...UnaryClientInterceptor) DialOption {
	return func(o *clientConfig) { o.unaryInts = append(o.unaryInts, is...) }
}

// WithStreamInterceptor sets the outermost stream interceptor.
func WithStreamInterceptor(i StreamClientInterceptor) DialOption {
	return func(o *clientConfig) { o.streamInts = append([]StreamClientInterceptor{i}, o.streamInts...) }
}

// WithChainStreamInterceptor adds stream interceptors; the first listed is outermost.
func WithChainStreamInterceptor(is ...StreamClientInterceptor) DialOption {
	return func(o *clientConfig) { o.streamInts = append(o.streamInts, is...) }
}

// WithKeepaliveParams enables client keepalive pings.
func WithKeepaliveParams(p ClientParameters) DialOption {
	return func(o *clientConfig) { o.keepalive = p }
}

// WithConnectParams sets reconnection backoff and the minimum connect timeout.
func WithConnectParams(p ConnectParams) DialOption {
	return func(o *clientConfig) {
		o.backoff = p.Backoff
		o.minConnect = p.MinConnectTimeout
	}
}

// WithDefaultCallOptions applies call options to every call (before the call's own).
func WithDefaultCallOptions(opts ...CallOption) DialOption {
	return func(o *clientConfig) { o.callOpts = append(o.callOpts, opts...) }
}

// WithAuthority overrides the :authority sent (and the TLS server name when unset).
func WithAuthority(a string) DialOption { return func(o *clientConfig) { o.authority = a } }

// WithUserAgent puts ua in front of the library's own user-agent.
func WithUserAgent(ua string) DialOption { return func(o *clientConfig) { o.userAgent = ua } }

// WithInitialWindowSize sets the per-stream receive window.
func WithInitialWindowSize(n uint32) DialOption { return func(o *clientConfig) { o.windowSize = n } }

// WithInitialConnWindowSize sets the connection receive window.
func WithInitialConnWindowSize(n uint32) DialOption {
	return func(o *clientConfig) { o.connWindowSize = n }
}

// WithResolvers gives this client resolver builders of its own, chosen by
// the target's scheme before the registered ones: a resolver.Manual in
// tests, or resolver.NewDNSBuilder with other options for "dns".
func WithResolvers(bs ...resolver.Builder) DialOption {
	return func(o *clientConfig) { o.resolvers = append(o.resolvers, bs...) }
}

// WithDefaultServiceConfig sets the service config (gRPC's JSON form, as
// grpc-go takes it) used until, or unless, the resolver provides one. An
// invalid config makes NewClient fail.
func WithDefaultServiceConfig(js string) DialOption {
	return func(o *clientConfig) { o.defaultSC = js }
}

// WithDisableServiceConfig ignores the service configs resolvers provide;
// WithDefaultServiceConfig's still applies.
func WithDisableServiceConfig() DialOption {
	return func(o *clientConfig) { o.disableServiceConfig = true }
}
