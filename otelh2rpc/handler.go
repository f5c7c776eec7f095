package otelh2rpc

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.30.0"
	"go.opentelemetry.io/otel/trace"
)

// handler is the stats handler of one side.
type handler struct {
	client bool
	cfg    config
	tracer trace.Tracer
	in     instruments
}

// NewServerHandler returns the handler to install with rpc.StatsHandlerOption.
func NewServerHandler(opts ...Option) rpc.RPCEventHandler { return newHandler(false, opts) }

// NewClientHandler returns the handler to install with rpc.WithStatsHandler.
func NewClientHandler(opts ...Option) rpc.RPCEventHandler { return newHandler(true, opts) }

func newHandler(client bool, opts []Option) *handler {
	cfg := newConfig(opts)
	return &handler{
		client: client,
		cfg:    cfg,
		tracer: cfg.tp.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL)),
		in:     newInstruments(cfg.mp, client, cfg.transport),
	}
}

// call is what a handler keeps for one call, in its context.
type call struct {
	span   trace.Span
	method string // grpc.method: "pkg.Service/Method", or "other" for a server's unknown method
	target string // grpc.target (client)
	sent   atomic.Int64
	rcvd   atomic.Int64
}

type callKey struct{}

// TagRPC starts the call's span: on a client before the request headers
// are built, so that the trace context goes out with them; on a server as
// a child of the context the client sent.
func (h *handler) TagRPC(ctx context.Context, fullMethod string) context.Context {
	name := strings.TrimPrefix(fullMethod, "/")
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, semconv.RPCSystemGRPC)
	if svc, method, ok := strings.Cut(name, "/"); ok {
		attrs = append(attrs, semconv.RPCService(svc), semconv.RPCMethod(method))
	}
	kind := trace.SpanKindServer
	if h.client {
		kind = trace.SpanKindClient
	} else {
		ctx = h.extract(ctx)
	}
	ctx, span := h.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	if h.client {
		ctx = h.inject(ctx)
	}
	return context.WithValue(ctx, callKey{}, &call{span: span, method: name})
}

// HandleRPCEvent fills in what is known only once the call runs: the
// method's standing, the addresses and the message sizes.
func (h *handler) HandleRPCEvent(ctx context.Context, ev rpc.RPCEvent) {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return
	}
	switch ev.Kind {
	case rpc.EventBegin:
		if ev.UnknownMethod {
			c.method = "other"
		}
		c.target = ev.Target
		if h.client {
			c.span.SetAttributes(hostPort(ev.Authority, semconv.ServerAddress, semconv.ServerPort)...)
		}
		h.in.started.Add(ctx, 1, metric.WithAttributeSet(h.attrs(c, nil)))
	case rpc.EventInHeader, rpc.EventOutHeader:
		if ev.Peer != nil && ev.Peer.Addr != nil {
			c.span.SetAttributes(hostPort(ev.Peer.Addr.String(), semconv.NetworkPeerAddress, semconv.NetworkPeerPort)...)
		}
		if !h.client && ev.Authority != "" {
			c.span.SetAttributes(hostPort(ev.Authority, semconv.ServerAddress, semconv.ServerPort)...)
		}
	case rpc.EventOutPayload:
		c.sent.Add(int64(ev.WireLength - envelopePrefix))
	case rpc.EventInPayload:
		c.rcvd.Add(int64(ev.WireLength - envelopePrefix))
	}
}

// envelopePrefix is the gRPC message prefix, which A66's sizes leave out.
const envelopePrefix = 5

// HandleRPC ends the span and records the call's metrics.
func (h *handler) HandleRPC(ctx context.Context, s *rpc.RPCStats) {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return
	}
	c.span.SetAttributes(semconv.RPCGRPCStatusCodeKey.Int(int(s.Code)))
	if isError(s.Code, h.client) {
		c.span.SetStatus(otelcodes.Error, s.Code.String())
	}
	c.span.End(trace.WithTimestamp(s.End))

	set := metric.WithAttributeSet(h.attrs(c, &s.Code))
	d := s.End.Sub(s.Begin).Seconds()
	h.in.duration.Record(ctx, d, set)
	h.in.sent.Record(ctx, c.sent.Load(), set)
	h.in.rcvd.Record(ctx, c.rcvd.Load(), set)
	if h.client {
		h.in.call.Record(ctx, d, set)
	}
	if h.cfg.transport {
		// Zero means "not measured", not "instant".
		for _, m := range []struct {
			h metric.Float64Histogram
			d time.Duration
		}{{h.in.ttfb, s.TimeToFirstByte}, {h.in.stream, s.StreamDuration}, {h.in.ping, s.PingRTT}} {
			if m.d > 0 {
				m.h.Record(ctx, m.d.Seconds(), set)
			}
		}
	}
}

// attrs are the A66 attributes of c; code is nil before the call ended.
func (h *handler) attrs(c *call, code *codes.Code) attribute.Set {
	kvs := make([]attribute.KeyValue, 0, 3)
	kvs = append(kvs, attribute.String("grpc.method", c.method))
	if h.client {
		kvs = append(kvs, attribute.String("grpc.target", c.target))
	}
	if code != nil {
		kvs = append(kvs, attribute.String("grpc.status", code.SpecName()))
	}
	return attribute.NewSet(kvs...)
}

// isError says whether a call that ended with code failed, as the RPC
// semantic conventions count it: for a client any code but OK, for a
// server only those that mean the server failed (a NOT_FOUND is the
// server doing its job).
func isError(code codes.Code, client bool) bool {
	if client {
		return code != codes.OK
	}
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// hostPort splits "host:port" into two attributes; an address without a
// port gives the host alone.
func hostPort(addr string, host func(string) attribute.KeyValue, port func(int) attribute.KeyValue) []attribute.KeyValue {
	if addr == "" {
		return nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return []attribute.KeyValue{host(addr)}
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return []attribute.KeyValue{host(h)}
	}
	return []attribute.KeyValue{host(h), port(n)}
}
