package rpc

import (
	"context"

	"github.com/h2rpc/h2rpc/rpc/metadata"
)

// SupportPackageIsVersion1 is asserted by generated code so that a stub
// generated for an incompatible runtime fails to compile.
const SupportPackageIsVersion1 = true

// ClientConnInterface is what generated clients need from a connection.
type ClientConnInterface interface {
	Invoke(ctx context.Context, method string, args, reply any, opts ...CallOption) error
	NewStream(ctx context.Context, desc *StreamDesc, method string, opts ...CallOption) (ClientStream, error)
}

// ServiceRegistrar is what generated Register functions need from a server.
type ServiceRegistrar interface {
	RegisterService(desc *ServiceDesc, impl any)
}

// MethodHandler is the generated handler of a unary method: it decodes the
// request with dec and calls the implementation, through interceptor when set.
type MethodHandler func(srv any, ctx context.Context, dec func(any) error, interceptor UnaryServerInterceptor) (any, error)

// MethodDesc describes a unary method.
type MethodDesc struct {
	MethodName string
	Handler    MethodHandler
	// Idempotency is the method's idempotency_level option. A server
	// answers Connect GET requests only for NoSideEffects methods.
	Idempotency IdempotencyLevel
}

// IdempotencyLevel is a method's idempotency_level option from its .proto
// definition (google.protobuf.MethodOptions), as generated code records it.
type IdempotencyLevel int

const (
	// IdempotencyUnknown: the method may have side effects (the default).
	IdempotencyUnknown IdempotencyLevel = iota
	// NoSideEffects: the method changes nothing, so it may be called with
	// HTTP GET (Connect) and its responses may be cached.
	NoSideEffects
	// Idempotent: calling the method twice has the effect of calling it
	// once, but it may have side effects.
	Idempotent
)

// StreamHandler is the generated handler of a streaming method.
type StreamHandler func(srv any, stream ServerStream) error

// StreamDesc describes a streaming method; the flags say which side streams.
type StreamDesc struct {
	StreamName    string
	Handler       StreamHandler
	ServerStreams bool
	ClientStreams bool
}

// ServiceDesc describes a service, as generated from a .proto file.
type ServiceDesc struct {
	ServiceName string // "pkg.Service"
	HandlerType any    // (*FooServer)(nil), to check implementations at registration
	Methods     []MethodDesc
	Streams     []StreamDesc
	Metadata    any // the .proto file name
}

// UnaryServerInfo tells a unary server interceptor which call it sees.
type UnaryServerInfo struct {
	Server     any
	FullMethod string
}

// UnaryHandler runs the rest of a unary call: later interceptors, then the method.
type UnaryHandler func(ctx context.Context, req any) (any, error)

// UnaryServerInterceptor wraps unary calls on the server.
type UnaryServerInterceptor func(ctx context.Context, req any, info *UnaryServerInfo, handler UnaryHandler) (resp any, err error)

// StreamServerInfo tells a stream server interceptor which call it sees.
type StreamServerInfo struct {
	FullMethod     string
	IsClientStream bool
	IsServerStream bool
}

// StreamServerInterceptor wraps streaming calls on the server. It may wrap
// ss to observe or change messages.
type StreamServerInterceptor func(srv any, ss ServerStream, info *StreamServerInfo, handler StreamHandler) error

// UnaryInvoker performs a unary call: later interceptors, then the transport.
type UnaryInvoker func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error

// UnaryClientInterceptor wraps unary calls on the client.
type UnaryClientInterceptor func(ctx context.Context, method string, req, reply any, cc *ClientConn, invoker UnaryInvoker, opts ...CallOption) error

// Streamer opens a stream: later interceptors, then the transport.
type Streamer func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error)

// StreamClientInterceptor wraps stream creation on the client.
type StreamClientInterceptor func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error)

// ClientStream is the client side of a call.
type ClientStream interface {
	// Header waits for the server's header metadata.
	Header() (metadata.MD, error)
	// Trailer returns the trailer metadata once RecvMsg has returned an error (io.EOF included).
	Trailer() metadata.MD
	// CloseSend half-closes: the server sees the end of the request stream.
	CloseSend() error
	Context() context.Context
	SendMsg(m any) error
	// RecvMsg returns io.EOF when the call ended with OK, or the status error.
	RecvMsg(m any) error
}

// ServerStream is the server side of a call.
type ServerStream interface {
	// SetHeader merges md into the header metadata sent with the first
	// message (or SendHeader, or the end of the call).
	SetHeader(metadata.MD) error
	// SendHeader sends the header metadata now; it can be sent once.
	SendHeader(metadata.MD) error
	// SetTrailer merges md into the trailer metadata sent with the status.
	SetTrailer(metadata.MD)
	Context() context.Context
	SendMsg(m any) error
	// RecvMsg returns io.EOF when the client half-closed.
	RecvMsg(m any) error
}
