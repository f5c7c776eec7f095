package timeout

import (
	"context"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
)

// withDefault returns ctx with a deadline d from now unless it has one;
// cancel is a no-op then. A non-positive d leaves every call alone.
func withDefault(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// UnaryServerInterceptor gives handlers a deadline d away when the client
// sent no grpc-timeout.
func UnaryServerInterceptor(d time.Duration) rpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		ctx, cancel := withDefault(ctx, d)
		defer cancel()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams.
func StreamServerInterceptor(d time.Duration) rpc.StreamServerInterceptor {
	return func(srv any, ss rpc.ServerStream, _ *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		ctx, cancel := withDefault(ss.Context(), d)
		defer cancel()
		if ctx == ss.Context() {
			return handler(srv, ss)
		}
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

type serverStream struct {
	rpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// UnaryClientInterceptor sends calls without a deadline with one d away;
// the runtime turns it into grpc-timeout, so the server knows it too.
func UnaryClientInterceptor(d time.Duration) rpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts ...rpc.CallOption) error {
		ctx, cancel := withDefault(ctx, d)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streams: the
// deadline covers the whole stream, which is released when RecvMsg reports
// the end of the call.
func StreamClientInterceptor(d time.Duration) rpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, opts ...rpc.CallOption) (rpc.ClientStream, error) {
		ctx, cancel := withDefault(ctx, d)
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			cancel()
			return nil, err
		}
		return &clientStream{ClientStream: s, cancel: cancel}, nil
	}
}

type clientStream struct {
	rpc.ClientStream
	cancel context.CancelFunc
	once   sync.Once
}

// RecvMsg releases the deadline's timer once the call has ended; a
// stream abandoned before that keeps it until the deadline passes.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.once.Do(s.cancel)
	}
	return err
}
