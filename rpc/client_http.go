package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

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

// HTTPClient is what calls in gRPC-Web and Connect go through; an
// *http.Client is one (connect-go's connect.HTTPClient is the same).
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

// httpCaller makes the calls of a ClientConn whose protocol runs over an
// HTTPClient: gRPC-Web or Connect.
type httpCaller struct {
	cc      *ClientConn
	client  HTTPClient
	baseURL string // scheme://authority, the method's path follows
}

// initHTTP sets up the HTTP caller when the protocol needs one: through
// the WithHTTPClient client, else HTTP/2 on the ClientConn's own sessions.
func (cc *ClientConn) initHTTP() {
	cfg := &cc.cfg
	if cfg.protocol == ProtocolGRPC {
		return
	}
	hc := &httpCaller{cc: cc, client: cfg.httpClient, baseURL: cc.scheme + "://" + cc.authority}
	if hc.client == nil && cfg.http1 {
		hc.client = newHTTP1Client(cc)
	}
	if hc.client == nil {
		hc.client = sessionTransport{cc}
	}
	cc.http = hc
}

// newRequest builds a call's HTTP request: the method's URL, the caller's
// metadata, the user agent and what the protocol adds.
func (hc *httpCaller) newRequest(ctx context.Context, httpMethod, method string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, httpMethod, hc.baseURL+method, nil)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "rpc: building the request: %v", err)
	}
	h := req.Header
	h["User-Agent"] = []string{hc.cc.userAgent}
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
		h[k] = append(h[k], v)
	})
	if mdErr != nil {
		return nil, status.Errorf(codes.Internal, "rpc: invalid outgoing metadata: %v", mdErr)
	}
	return req, nil
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
	return status.Errorf(codes.Unavailable, "rpc: %v", err)
}

// httpHeaderMD is the caller's metadata in a response's header: every
// field but those of HTTP and of the protocol (skip); binary values
// decoded.
func httpHeaderMD(h http.Header, skip func(string) bool) metadata.MD {
	var md metadata.MD
	for k, vs := range h {
		if isCanonicalHTTPResponseHeader(k) {
			continue // every skip skips these: no need to lower-case them first
		}
		k = strings.ToLower(k)
		if skip(k) {
			continue
		}
		for _, v := range vs {
			md = addReceivedMD(md, k, v)
		}
	}
	return md
}

// isCanonicalHTTPResponseHeader is isHTTPResponseHeader for the names in
// the canonical form net/http's (and our HTTP/1.1 client's) header maps use.
func isCanonicalHTTPResponseHeader(k string) bool {
	switch k {
	case "Content-Type", "Content-Length", "Content-Encoding", "Date", "Server", "Vary",
		"Transfer-Encoding", "Connection", "Keep-Alive", "Trailer", "Accept-Encoding",
		"Access-Control-Allow-Origin", "Access-Control-Expose-Headers":
		return true
	}
	return false
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
