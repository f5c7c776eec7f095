package logging

import (
	"context"
	"log/slog"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/internal/callinfo"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Record attribute keys. The rpc.* names follow the OpenTelemetry RPC
// semantic conventions so that logs and metrics join on the same names.
const (
	KeySystem    = "rpc.system"
	KeyService   = "rpc.service"
	KeyMethod    = "rpc.method"
	KeyCode      = "rpc.grpc.status_code"
	KeyKind      = "span.kind" // "server" or "client"
	KeyDuration  = "duration"
	KeyPeer      = "peer"
	KeyError     = "error"
	KeySentMsgs  = "sent.messages"
	KeySentBytes = "sent.bytes"
	KeyRecvMsgs  = "recv.messages"
	KeyRecvBytes = "recv.bytes"
)

// PeerFunc names the other side of the call from the call's context; ""
// leaves the peer out of the record.
type PeerFunc func(ctx context.Context) string

type options struct {
	logger *slog.Logger
	level  func(codes.Code) slog.Level
	peer   PeerFunc
	msg    string
}

// Option configures the interceptors.
type Option func(*options)

// WithLogger logs to l (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithLevels chooses the record's level from the call's code (default
// DefaultLevel).
func WithLevels(f func(codes.Code) slog.Level) Option { return func(o *options) { o.level = f } }

// WithPeer sets how the peer is named: by default the caller's address
// (rpc.PeerFromContext) on the server and the connection's target on the
// client. Behind a proxy, a PeerFunc can read the header it sets instead.
func WithPeer(f PeerFunc) Option { return func(o *options) { o.peer = f } }

// WithMessage sets the record's message (default "rpc finished").
func WithMessage(m string) Option { return func(o *options) { o.msg = m } }

// DefaultLevel logs successes and the client's own mistakes at Info,
// conditions an operator may want to see at Warn, and server faults at Error.
func DefaultLevel(c codes.Code) slog.Level {
	switch c {
	case codes.OK, codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.Unauthenticated:
		return slog.LevelInfo
	case codes.DeadlineExceeded, codes.PermissionDenied, codes.ResourceExhausted, codes.FailedPrecondition,
		codes.Aborted, codes.OutOfRange, codes.Unavailable:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func build(opts []Option) *options {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.level == nil {
		o.level = DefaultLevel
	}
	if o.msg == "" {
		o.msg = "rpc finished"
	}
	return o
}

// log writes the record; err io.EOF (a client stream's clean end) is OK.
func (o *options) log(ctx context.Context, kind, fullMethod, peer string, start time.Time, err error, c *callinfo.Counts) {
	code := callinfo.Code(err)
	if code == codes.OK {
		err = nil
	}
	lvl := o.level(code)
	if !o.logger.Enabled(ctx, lvl) {
		return
	}
	svc, m := callinfo.Split(fullMethod)
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String(KeySystem, "grpc"),
		slog.String(KeyService, svc),
		slog.String(KeyMethod, m),
		slog.String(KeyCode, code.String()),
		slog.String(KeyKind, kind),
		slog.Duration(KeyDuration, time.Since(start)),
	)
	if peer != "" {
		attrs = append(attrs, slog.String(KeyPeer, peer))
	}
	attrs = append(attrs,
		slog.Int64(KeySentMsgs, c.MsgsSent.Load()),
		slog.Int64(KeySentBytes, c.BytesSent.Load()),
		slog.Int64(KeyRecvMsgs, c.MsgsRecv.Load()),
		slog.Int64(KeyRecvBytes, c.BytesRecv.Load()),
	)
	if err != nil {
		attrs = append(attrs, slog.String(KeyError, status.Convert(err).Message()))
	}
	o.logger.LogAttrs(ctx, lvl, o.msg, attrs...)
}

func (o *options) peerOf(ctx context.Context) string {
	if o.peer != nil {
		return o.peer(ctx)
	}
	if p, ok := rpc.PeerFromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// UnaryServerInterceptor logs each unary call the server handles.
func UnaryServerInterceptor(opts ...Option) rpc.UnaryServerInterceptor {
	o := build(opts)
	return func(ctx context.Context, req any, info *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		var c callinfo.Counts
		c.MsgsRecv.Store(1)
		c.BytesRecv.Store(int64(callinfo.Size(req)))
		if err == nil {
			c.MsgsSent.Store(1)
			c.BytesSent.Store(int64(callinfo.Size(resp)))
		}
		o.log(ctx, "server", info.FullMethod, o.peerOf(ctx), start, err, &c)
		return resp, err
	}
}

// StreamServerInterceptor logs each streaming call the server handles.
func StreamServerInterceptor(opts ...Option) rpc.StreamServerInterceptor {
	o := build(opts)
	return func(srv any, ss rpc.ServerStream, info *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		start := time.Now()
		cs := &callinfo.ServerStream{ServerStream: ss, C: &callinfo.Counts{}}
		err := handler(srv, cs)
		o.log(ss.Context(), "server", info.FullMethod, o.peerOf(ss.Context()), start, err, cs.C)
		return err
	}
}

func (o *options) clientPeer(ctx context.Context, cc *rpc.ClientConn) string {
	if o.peer != nil {
		return o.peer(ctx)
	}
	if cc != nil {
		return cc.Target()
	}
	return ""
}

// UnaryClientInterceptor logs each unary call the client makes.
func UnaryClientInterceptor(opts ...Option) rpc.UnaryClientInterceptor {
	o := build(opts)
	return func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, copts ...rpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, copts...)
		var c callinfo.Counts
		c.MsgsSent.Store(1)
		c.BytesSent.Store(int64(callinfo.Size(req)))
		if err == nil {
			c.MsgsRecv.Store(1)
			c.BytesRecv.Store(int64(callinfo.Size(reply)))
		}
		o.log(ctx, "client", method, o.clientPeer(ctx, cc), start, err, &c)
		return err
	}
}

// StreamClientInterceptor logs each streaming call the client makes, when
// the call ends: when RecvMsg returns io.EOF or an error, or when the
// call's context ends first (a stream abandoned without being read to the
// end is logged as CANCELLED once its context is canceled).
func StreamClientInterceptor(opts ...Option) rpc.StreamClientInterceptor {
	o := build(opts)
	return func(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, copts ...rpc.CallOption) (rpc.ClientStream, error) {
		start := time.Now()
		peer := o.clientPeer(ctx, cc)
		s, err := streamer(ctx, desc, cc, method, copts...)
		if err != nil {
			o.log(ctx, "client", method, peer, start, err, &callinfo.Counts{})
			return nil, err
		}
		c := &callinfo.Counts{}
		return callinfo.NewClientStream(ctx, s, c, func(err error) {
			o.log(ctx, "client", method, peer, start, err, c)
		}), nil
	}
}
