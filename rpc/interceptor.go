package rpc

import "context"

// Interceptor chains run in the order given: the first interceptor is the
// outermost, so it sees the call first and the result last.

// ChainUnaryServer combines interceptors into one; nil when there are none,
// so the generated handler takes its direct path.
func ChainUnaryServer(ints ...UnaryServerInterceptor) UnaryServerInterceptor {
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(ctx context.Context, req any, info *UnaryServerInfo, handler UnaryHandler) (any, error) {
		return ints[0](ctx, req, info, unaryServerNext(ints, 1, info, handler))
	}
}

func unaryServerNext(ints []UnaryServerInterceptor, i int, info *UnaryServerInfo, final UnaryHandler) UnaryHandler {
	if i == len(ints) {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return ints[i](ctx, req, info, unaryServerNext(ints, i+1, info, final))
	}
}

// ChainStreamServer combines stream server interceptors, first outermost.
func ChainStreamServer(ints ...StreamServerInterceptor) StreamServerInterceptor {
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(srv any, ss ServerStream, info *StreamServerInfo, handler StreamHandler) error {
		return ints[0](srv, ss, info, streamServerNext(ints, 1, info, handler))
	}
}

func streamServerNext(ints []StreamServerInterceptor, i int, info *StreamServerInfo, final StreamHandler) StreamHandler {
	if i == len(ints) {
		return final
	}
	return func(srv any, ss ServerStream) error {
		return ints[i](srv, ss, info, streamServerNext(ints, i+1, info, final))
	}
}

// ChainUnaryClient combines unary client interceptors, first outermost.
func ChainUnaryClient(ints ...UnaryClientInterceptor) UnaryClientInterceptor {
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, invoker UnaryInvoker, opts ...CallOption) error {
		return ints[0](ctx, method, req, reply, cc, unaryClientNext(ints, 1, invoker), opts...)
	}
}

func unaryClientNext(ints []UnaryClientInterceptor, i int, final UnaryInvoker) UnaryInvoker {
	if i == len(ints) {
		return final
	}
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error {
		return ints[i](ctx, method, req, reply, cc, unaryClientNext(ints, i+1, final), opts...)
	}
}

// ChainStreamClient combines stream client interceptors, first outermost.
func ChainStreamClient(ints ...StreamClientInterceptor) StreamClientInterceptor {
	switch len(ints) {
	case 0:
		return nil
	case 1:
		return ints[0]
	}
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error) {
		return ints[0](ctx, desc, cc, method, streamClientNext(ints, 1, streamer), opts...)
	}
}

func streamClientNext(ints []StreamClientInterceptor, i int, final Streamer) Streamer {
	if i == len(ints) {
		return final
	}
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error) {
		return ints[i](ctx, desc, cc, method, streamClientNext(ints, i+1, final), opts...)
	}
}
