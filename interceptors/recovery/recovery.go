package recovery

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Handler turns a recovered panic value into the error the client sees.
type Handler func(ctx context.Context, fullMethod string, recovered any) error

type options struct {
	logger  *slog.Logger
	handler Handler
}

// Option configures the interceptors.
type Option func(*options)

// WithLogger logs panics to l (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHandler replaces the default error, INTERNAL "internal error". The
// default does not echo the panic value, which may hold private data.
func WithHandler(h Handler) Option { return func(o *options) { o.handler = h } }

func build(opts []Option) *options {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.handler == nil {
		o.handler = func(context.Context, string, any) error {
			return status.Error(codes.Internal, "internal error")
		}
	}
	return o
}

// recovered logs the panic and returns the error for the client. It is
// called from the deferred function, so debug.Stack still shows the
// panicking frames.
func (o *options) recovered(ctx context.Context, method string, p any) error {
	o.logger.LogAttrs(ctx, slog.LevelError, "rpc handler panicked",
		slog.String("rpc.method", method),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())))
	err := o.handler(ctx, method, p)
	if err == nil {
		// A handler that forgets to return an error must not turn a
		// panic into success with a nil response.
		err = status.Error(codes.Internal, "internal error")
	}
	return err
}

// UnaryServerInterceptor recovers panics in unary handlers (and in the
// interceptors inside it in the chain).
func UnaryServerInterceptor(opts ...Option) rpc.UnaryServerInterceptor {
	o := build(opts)
	return func(ctx context.Context, req any, info *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, o.recovered(ctx, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor recovers panics in streaming handlers.
func StreamServerInterceptor(opts ...Option) rpc.StreamServerInterceptor {
	o := build(opts)
	return func(srv any, ss rpc.ServerStream, info *rpc.StreamServerInfo, handler rpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = o.recovered(ss.Context(), info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}
