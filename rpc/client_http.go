package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Protocol is the wire protocol a client speaks (WithProtocol).
type Protocol uint8

const (
	// ProtocolGRPC is gRPC over HTTP/2, on the client's own connections:
	// the default.
	ProtocolGRPC Protocol = iota
	// ProtocolGRPCWeb is gRPC-Web: gRPC with its status in the response
	// body, over HTTP/1.1 or HTTP/2.
	ProtocolGRPCWeb
	// ProtocolConnect is the Connect protocol: unary calls as plain HTTP
	// requests (GET for side-effect-free methods with WithHTTPGet),
	// streams enveloped, over HTTP/1.1 or HTTP/2.
	ProtocolConnect
)

func (p Protocol) String() string {
	switch p {
	case ProtocolGRPC:
		return "grpc"
	case ProtocolGRPCWeb:
		return "grpc-web"
	case ProtocolConnect:
		return "connect"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// HTTPClient is what gRPC-Web and Connect calls go through when
// WithHTTPClient gives one; an *http.Client is one (connect-go's
// connect.HTTPClient is the same).
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// WithProtocol chooses the wire protocol of every call; the default is
// ProtocolGRPC. gRPC-Web and Connect calls run over HTTP/2 on the client's
// own connections, or through the client WithHTTPClient gives.
func WithProtocol(p Protocol) DialOption { return func(o *clientConfig) { o.protocol = p } }

// WithGRPCWeb is WithProtocol(ProtocolGRPCWeb).
func WithGRPCWeb() DialOption { return WithProtocol(ProtocolGRPCWeb) }

// WithConnect is WithProtocol(ProtocolConnect).
func WithConnect() DialOption { return WithProtocol(ProtocolConnect) }

// WithHTTPClient sends gRPC-Web and Connect calls through c: an
// *http.Client whose Transport is any http.RoundTripper (net/http's, which
// speaks HTTP/1.1 and, over TLS, HTTP/2; one configured for h2c; h2's
// own). http.DefaultClient gives HTTP/1.1. c then dials and secures the
// connections itself: WithTLS and WithInsecure only choose the URL's
// scheme (https or http), and WithContextDialer is not used. Without this
// option the calls run over HTTP/2 on the client's own connections, as gRPC
// calls do (h2c with WithInsecure, TLS with ALPN h2 with WithTLS).
func WithHTTPClient(c HTTPClient) DialOption { return func(o *clientConfig) { o.httpClient = c } }

// WithHTTPGet makes Connect unary calls of side-effect-free methods (the
// .proto's idempotency_level = NO_SIDE_EFFECTS, which generated code
// passes with MethodIdempotency) HTTP GET requests, with the message in the
// query, so that browsers and proxies may cache them. Other protocols
// ignore it.
func WithHTTPGet() DialOption { return func(o *clientConfig) { o.httpGet = true } }

// WithProtoJSON encodes every call's messages as protobuf JSON
// (CallContentSubtype("json") on each call) instead of binary protobuf.
func WithProtoJSON() DialOption { return WithDefaultCallOptions(CallContentSubtype("json")) }

// WithSendGzip compresses every call's request messages with gzip
// (UseCompressor("gzip") on each call).
func WithSendGzip() DialOption { return WithDefaultCallOptions(UseCompressor("gzip")) }

type idempotencyOpt IdempotencyLevel

func (o idempotencyOpt) apply(c *callInfo) { c.idempotency = IdempotencyLevel(o) }

// MethodIdempotency tells the client the called method's idempotency
// level. Generated code passes it for methods marked NO_SIDE_EFFECTS, so
// that WithHTTPGet can send them as GET requests.
func MethodIdempotency(l IdempotencyLevel) CallOption { return idempotencyOpt(l) }

// httpCaller makes the calls of a ClientConn whose protocol runs over
// HTTP: gRPC-Web or Connect.
type httpCaller struct {
	cc      *ClientConn
	client  HTTPClient   // WithHTTPClient's; nil for the client's own sessions
	t       webTransport // what carries the exchanges
	baseURL string       // scheme://authority, the method's path follows
}

// initHTTP sets up the HTTP caller when the protocol needs one: through
// the WithHTTPClient client, else HTTP/2 on the ClientConn's own sessions,
// with no net/http value in between.
func (cc *ClientConn) initHTTP() {
	cfg := &cc.cfg
	if cfg.protocol == ProtocolGRPC {
		return
	}
	hc := &httpCaller{cc: cc, client: cfg.httpClient, baseURL: cc.scheme + "://" + cc.authority}
	switch {
	case hc.client != nil:
		hc.t = httpClientTransport{hc}
		// c has no resolver: WithDefaultServiceConfig's config is the one
		// in force, and no call waits for another.
		cc.markConfigured()
	case cfg.http1:
		hc.t = newHTTP1Client(cc)
	default:
		hc.t = sessionTransport{cc}
	}
	cc.http = hc
}

// newRequest starts a call's request: the pseudo-header fields (a POST to
// the method's path), the user agent and the caller's metadata; the
// protocol adds its own fields. The list is built in req.header's room
// when it has one (a pooled unary call's, keptHeaderRoom).
func (hc *httpCaller) newRequest(ctx context.Context, method string, req *webRequest) error {
	h := req.header[:0]
	if cap(h) == 0 {
		h = make(h2.Header, 0, 12)
	}
	h = append(h,
		h2.HeaderField{Name: ":method", Value: http.MethodPost},
		h2.HeaderField{Name: ":scheme", Value: hc.cc.scheme},
		h2.HeaderField{Name: ":path", Value: method},
		h2.HeaderField{Name: ":authority", Value: hc.cc.authority},
		h2.HeaderField{Name: "user-agent", Value: hc.cc.userAgent},
	)
	var mdErr error
	metadata.RangeOutgoing(ctx, func(k, v string) {
		k = strings.ToLower(k)
		if mdErr != nil || reservedHeader(k) {
			return
		}
		if err := metadata.ValidateKey(k); err != nil {
			mdErr = err
			return
		}
		if metadata.IsBinKey(k) {
			v = metadata.EncodeBin(v)
		} else if err := metadata.ValidateValue(k, v); err != nil {
			mdErr = err
			return
		}
		h = append(h, h2.HeaderField{Name: k, Value: v})
	})
	if mdErr != nil {
		return status.Errorf(codes.Internal, "rpc: invalid outgoing metadata: %v", mdErr)
	}
	req.header = h
	return nil
}

// timeout is what is left of ctx's deadline (0 for none), or
// DEADLINE_EXCEEDED when it has passed.
func timeoutOf(ctx context.Context) (time.Duration, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	d := time.Until(dl)
	if d <= 0 {
		return 0, status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	}
	return d, nil
}

// httpError is the status of a call whose HTTP exchange failed: the
// context's reason when it ended, else UNAVAILABLE (the server could not be
// reached, or the connection broke).
func httpError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return status.FromContextError(cerr).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "rpc: ") { // our own errors name us already
		msg = "rpc: " + msg
	}
	return status.Error(codes.Unavailable, msg)
}

// isHTTPResponseHeader: response fields of HTTP itself, never metadata.
func isHTTPResponseHeader(k string) bool {
	switch k {
	case "content-type", "content-length", "content-encoding", "date", "server", "vary",
		"transfer-encoding", "connection", "keep-alive", "trailer", "accept-encoding",
		"access-control-allow-origin", "access-control-expose-headers":
		return true
	}
	return false
}

// codecName is the name a codec entry goes by in content-types ("proto"
// for plain application/grpc).
func codecName(ce *codecEntry) string {
	if sub, ok := strings.CutPrefix(ce.contentType, "application/grpc+"); ok {
		return sub
	}
	return "proto"
}
