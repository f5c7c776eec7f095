package metrics

import (
	"context"

	"github.com/h2rpc/h2rpc/rpc"
)

// otherMethod is the one full method name every call to an unregistered
// method is recorded under, as gRFC A66 folds them: service and method
// labels "other".
const otherMethod = "/other/other"

// transport holds the histograms only the transport can fill, through
// rpc's StatsHandler. The semantic conventions have no names for them, so
// they follow the same pattern: rpc_<side>_<what>_<unit>.
type transport struct {
	wireSent, wireRecv, ttfb, streamDur, pingRTT *family
}

func newTransport(side string, o Options) transport {
	p := "rpc_" + side + "_"
	return transport{
		wireSent:  newFamily(p+"wire_sent_bytes", "Measures the bytes sent per RPC on the wire (HTTP/2 DATA payloads: framed and compressed messages).", o.SizeBuckets, callLabels...),
		wireRecv:  newFamily(p+"wire_received_bytes", "Measures the bytes received per RPC on the wire (HTTP/2 DATA payloads).", o.SizeBuckets, callLabels...),
		ttfb:      newFamily(p+"time_to_first_byte_seconds", "Measures the time from opening an RPC's stream to the peer's first DATA byte.", o.DurationBuckets, callLabels...),
		streamDur: newFamily(p+"stream_duration_seconds", "Measures how long an RPC's HTTP/2 stream was open.", o.DurationBuckets, callLabels...),
		pingRTT:   newFamily(p+"ping_rtt_seconds", "Measures the connection's last ping round trip, sampled at the end of each RPC.", o.DurationBuckets, callLabels...),
	}
}

func (t transport) families() []*family {
	return []*family{t.wireSent, t.wireRecv, t.ttfb, t.streamDur, t.pingRTT}
}

// StatsHandler returns an rpc.StatsHandler that records what the
// interceptors cannot see: wire sizes, time to first byte, stream duration
// and ping round trip, per method and code. Install it with
// rpc.StatsHandlerOption on a server and rpc.WithStatsHandler on a client,
// beside (not instead of) the interceptors.
func (m *Metrics) StatsHandler() rpc.StatsHandler { return statsHandler{m} }

type statsHandler struct{ m *Metrics }

func (statsHandler) TagRPC(ctx context.Context, _ string) context.Context { return ctx }

func (h statsHandler) HandleRPC(_ context.Context, s *rpc.RPCStats) {
	sd, t := &h.m.server, h.m.serverWire
	if s.Client {
		sd, t = &h.m.client, h.m.clientWire
	}
	method := s.FullMethod
	if s.UnknownMethod {
		// Peers choose these names: one series each would let any client
		// grow the exposition without bound.
		method = otherMethod
	}
	cl := sd.labels.get(method).forCode(s.Code)
	t.wireSent.observe(float64(s.WireBytesSent), cl.key, cl.values)
	t.wireRecv.observe(float64(s.WireBytesRecv), cl.key, cl.values)
	// Zero means "not measured" (no DATA came, no ping yet), not "instant".
	if s.TimeToFirstByte > 0 {
		t.ttfb.observe(s.TimeToFirstByte.Seconds(), cl.key, cl.values)
	}
	if s.StreamDuration > 0 {
		t.streamDur.observe(s.StreamDuration.Seconds(), cl.key, cl.values)
	}
	if s.PingRTT > 0 {
		t.pingRTT.observe(s.PingRTT.Seconds(), cl.key, cl.values)
	}
}
