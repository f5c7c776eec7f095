package otelh2rpc

import (
	"context"

	"github.com/h2rpc/h2rpc/rpc/metadata"
)

// outCarrier collects what a propagator injects, to be appended to the
// call's outgoing metadata.
type outCarrier []string

func (c *outCarrier) Get(string) string { return "" }
func (c *outCarrier) Set(key, value string) {
	*c = append(*c, key, value)
}
func (c *outCarrier) Keys() []string { return nil }

// inject adds ctx's trace context and baggage to its outgoing metadata.
func (h *handler) inject(ctx context.Context) context.Context {
	var c outCarrier
	h.cfg.props.Inject(ctx, &c)
	if len(c) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, c...)
}

// inCarrier reads a propagator's fields from incoming metadata; keys are
// lowercase there, as propagators ask for them.
type inCarrier struct{ ctx context.Context }

func (c inCarrier) Get(key string) string {
	vs := metadata.ValueFromIncomingContext(c.ctx, key)
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
func (c inCarrier) Set(string, string) {}
func (c inCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}

// extract returns ctx with the trace context and baggage the client sent.
func (h *handler) extract(ctx context.Context) context.Context {
	return h.cfg.props.Extract(ctx, inCarrier{ctx})
}
