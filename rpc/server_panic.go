package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// PanicHandler turns a handler's panic into the error its client sees; see
// OnHandlerPanic. ctx is the call's context.
type PanicHandler func(ctx context.Context, fullMethod string, recovered any, stack []byte) error

// errHandlerPanic is what the client of a panicking handler gets by
// default: nothing of the panic itself, which may hold private data.
var errHandlerPanic = status.Error(codes.Internal, "internal error")

// recovered logs a handler panic and returns the status for the client. It
// runs in the deferred function that recovered, so the stack still shows
// the panicking frames.
func (s *Server) recovered(ctx context.Context, method string, p any) error {
	stack := debug.Stack()
	s.logger().LogAttrs(ctx, slog.LevelError, "rpc: handler panic",
		slog.String("rpc.method", method),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(stack)))
	if f := s.opts.onPanic; f != nil {
		if err := f(ctx, method, p, stack); err != nil {
			if _, ok := status.FromError(err); ok {
				return err
			}
		}
	}
	return errHandlerPanic
}

// logger is where the server reports handlers' mistakes (see Logger).
func (s *Server) logger() *slog.Logger {
	if l := s.opts.logger; l != nil {
		return l
	}
	return slog.Default()
}
