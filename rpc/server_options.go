package rpc

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// defaultMaxStreams bounds concurrent calls per connection: high enough for
// a client holding a thousand mostly idle streams beside busy ones, still a
// bound on what one connection can make the server hold.
const defaultMaxStreams = 2048

// ServerOption configures a Server.
type ServerOption func(*serverOptions)

type serverOptions struct {
	maxRecv        int
	maxSend        int
	maxStreams     uint32
	unaryInts      []UnaryServerInterceptor
	streamInts     []StreamServerInterceptor
	tlsConfig      *tls.Config
	enforcement    EnforcementPolicy
	keepalive      ServerParameters
	windowSize     uint32
	connWindowSize uint32
	onPanic        PanicHandler
	logger         *slog.Logger
	stats          StatsHandler
	hooks          statsHooks // stats' optional extensions (stats_events.go)
	compressMin    int
	cors           *CORS
	http1          HTTP1Parameters // Serve's own HTTP/1.1 (server_http1.go)
}

// OnHandlerPanic sets the function that chooses what the client of a
// panicking handler (or interceptor) sees: its error becomes the call's
// status (a nil error, or one that is not a status, is sent as INTERNAL
// "internal error"). The panic is logged whatever it returns (see
// Logger). Without it the client gets INTERNAL "internal error": the
// panic value may hold private data, so it never reaches the client by
// default.
func OnHandlerPanic(f PanicHandler) ServerOption {
	return func(o *serverOptions) { o.onPanic = f }
}

// Logger sets where the server logs what a handler did wrong, at level
// ERROR: a panic (with the method, the panic value and the stack), metadata
// that cannot be sent (with the method and the offending key). The default
// is slog.Default() at the time of logging. Pass a logger whose handler
// discards to log nothing.
func Logger(l *slog.Logger) ServerOption {
	return func(o *serverOptions) { o.logger = l }
}

// EnforcementPolicy is how strictly the server polices client keepalive
// pings. A client that pings more often than MinTime (or at all without
// active streams, unless PermitWithoutStream) gets a few strikes, then a
// GOAWAY ENHANCE_YOUR_CALM with debug data "too_many_pings".
type EnforcementPolicy struct {
	MinTime             time.Duration // default 5 minutes, as in other gRPC servers
	PermitWithoutStream bool
}

// ServerParameters bound connection lifetimes and set server-side pings.
type ServerParameters struct {
	// MaxConnectionIdle closes (gracefully) a connection without RPCs for this long.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge sends GOAWAY to a connection this old (±10% jitter so
	// that clients do not all reconnect at once); MaxConnectionAgeGrace later
	// the connection is closed even with RPCs still running.
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	// Time and Timeout ping an idle client and drop it if the ack is late.
	Time    time.Duration
	Timeout time.Duration
}

// MaxRecvMsgSize bounds each received message (default 4 MiB), checked
// before allocating and again after decompression.
func MaxRecvMsgSize(n int) ServerOption { return func(o *serverOptions) { o.maxRecv = n } }

// MaxSendMsgSize bounds each sent message (default 2 GiB - 1).
func MaxSendMsgSize(n int) ServerOption { return func(o *serverOptions) { o.maxSend = n } }

// MaxConcurrentStreams bounds the RPCs one connection may run at a time
// (default 2048); it is advertised in SETTINGS, and clients wait for a free
// slot rather than fail.
func MaxConcurrentStreams(n uint32) ServerOption {
	return func(o *serverOptions) { o.maxStreams = n }
}

// UnaryInterceptor sets the unary interceptor; with ChainUnaryInterceptor the
// one set here runs first (outermost).
func UnaryInterceptor(i UnaryServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.unaryInts = append([]UnaryServerInterceptor{i}, o.unaryInts...) }
}

// ChainUnaryInterceptor adds unary interceptors; the first listed is outermost.
func ChainUnaryInterceptor(is ...UnaryServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.unaryInts = append(o.unaryInts, is...) }
}

// StreamInterceptor sets the stream interceptor, outermost.
func StreamInterceptor(i StreamServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.streamInts = append([]StreamServerInterceptor{i}, o.streamInts...) }
}

// ChainStreamInterceptor adds stream interceptors; the first listed is outermost.
func ChainStreamInterceptor(is ...StreamServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.streamInts = append(o.streamInts, is...) }
}

// Creds serves TLS with the config (ALPN "h2" is added). Without it the
// server speaks h2c (cleartext HTTP/2 with prior knowledge).
func Creds(c *tls.Config) ServerOption { return func(o *serverOptions) { o.tlsConfig = c } }

// KeepaliveEnforcementPolicy sets how client pings are policed.
func KeepaliveEnforcementPolicy(p EnforcementPolicy) ServerOption {
	return func(o *serverOptions) { o.enforcement = p }
}

// KeepaliveParams sets connection idle/age limits and server pings.
func KeepaliveParams(p ServerParameters) ServerOption {
	return func(o *serverOptions) { o.keepalive = p }
}

// InitialWindowSize sets the per-stream receive window advertised to clients.
func InitialWindowSize(n uint32) ServerOption { return func(o *serverOptions) { o.windowSize = n } }

// InitialConnWindowSize sets the connection receive window.
func InitialConnWindowSize(n uint32) ServerOption {
	return func(o *serverOptions) { o.connWindowSize = n }
}

// DefaultCompressMinBytes is the size below which a server sends response
// messages uncompressed unless CompressMinBytes says otherwise. Clients ask
// for compression whatever the size (ours and connect-go's send
// Accept-Encoding: gzip on every Connect call, browsers on every fetch),
// and a message under 1 KiB fits in one packet with its headers, so
// compressing it saves no round trip while gzip's setup and its 18 bytes
// of header and trailer cost CPU at both ends (40 % of a 100-byte Connect
// unary call's) and may grow it.
const DefaultCompressMinBytes = 1024

// CompressMinBytes leaves response messages smaller than n bytes
// uncompressed even when the client asked for compression (default
// DefaultCompressMinBytes; 0 compresses every message). Every protocol
// marks each message as compressed or not, so clients need no setting of
// their own.
func CompressMinBytes(n int) ServerOption {
	return func(o *serverOptions) { o.compressMin = max(n, 0) }
}
