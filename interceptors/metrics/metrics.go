package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/internal/callinfo"
	"github.com/h2rpc/h2rpc/rpc"
)

// Default bucket bounds: the durations OpenTelemetry recommends for RPC
// latency, sizes in powers of four up to the 4 MiB default message limit,
// and message counts in powers of two.
var (
	DefaultDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	DefaultSizeBuckets     = []float64{0, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304}
	DefaultCountBuckets    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
)

// Options choose histogram buckets; nil fields take the defaults.
type Options struct {
	DurationBuckets []float64 // seconds
	SizeBuckets     []float64 // bytes
	CountBuckets    []float64 // messages per RPC
}

// Metrics records RPCs; one value serves any number of servers and
// clients, and is an http.Handler for the scrape endpoint.
type Metrics struct {
	server, client         side
	serverWire, clientWire transport
	all                    []*family
}

// side holds the five histograms of one side, named
// rpc.<side>.duration, .request.size, .response.size, .requests_per_rpc
// and .responses_per_rpc in the semantic conventions.
type side struct {
	duration, reqSize, respSize, reqPerRPC, respPerRPC *family
	labels                                             *labelCache
}

var (
	callLabels = []string{"rpc_system", "rpc_service", "rpc_method", "rpc_grpc_status_code"}
	// Sizes are recorded per message, as the conventions ask, when the
	// call's final code is not known yet: they carry no status label.
	msgLabels = callLabels[:3]
)

func newSide(name, dir string, o Options) side {
	p := "rpc_" + name + "_"
	return side{
		duration:   newFamily(p+"duration_seconds", "Measures the duration of "+dir+" RPCs.", o.DurationBuckets, callLabels...),
		reqSize:    newFamily(p+"request_size_bytes", "Measures the size of RPC request messages (uncompressed).", o.SizeBuckets, msgLabels...),
		respSize:   newFamily(p+"response_size_bytes", "Measures the size of RPC response messages (uncompressed).", o.SizeBuckets, msgLabels...),
		reqPerRPC:  newFamily(p+"requests_per_rpc", "Measures the number of messages received per RPC.", o.CountBuckets, callLabels...),
		respPerRPC: newFamily(p+"responses_per_rpc", "Measures the number of messages sent per RPC.", o.CountBuckets, callLabels...),
		labels:     &labelCache{},
	}
}

// New returns empty metrics; it fails only on bad bucket bounds.
func New(o Options) (*Metrics, error) {
	if o.DurationBuckets == nil {
		o.DurationBuckets = DefaultDurationBuckets
	}
	if o.SizeBuckets == nil {
		o.SizeBuckets = DefaultSizeBuckets
	}
	if o.CountBuckets == nil {
		o.CountBuckets = DefaultCountBuckets
	}
	if err := errors.Join(checkBuckets("duration", o.DurationBuckets), checkBuckets("size", o.SizeBuckets),
		checkBuckets("count", o.CountBuckets)); err != nil {
		return nil, err
	}
	o.DurationBuckets = slices.Clone(o.DurationBuckets)
	o.SizeBuckets = slices.Clone(o.SizeBuckets)
	o.CountBuckets = slices.Clone(o.CountBuckets)
	m := &Metrics{server: newSide("server", "inbound", o), client: newSide("client", "outbound", o)}
	// The client's request/response count help texts read the other way round.
	m.client.reqPerRPC.help = "Measures the number of messages sent per RPC."
	m.client.respPerRPC.help = "Measures the number of messages received per RPC."
	m.serverWire, m.clientWire = newTransport("server", o), newTransport("client", o)
	for _, s := range []side{m.client, m.server} {
		m.all = append(m.all, s.duration, s.reqSize, s.reqPerRPC, s.respSize, s.respPerRPC)
	}
	m.all = append(m.all, m.serverWire.families()...)
	m.all = append(m.all, m.clientWire.families()...)
	slices.SortFunc(m.all, func(a, b *family) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return m, nil
}

// call is one RPC being measured; it observes its messages' sizes.
type call struct {
	s      *side
	start  time.Time
	l      *labels
	client bool
	counts callinfo.Counts
}

func (s *side) begin(fullMethod string, client bool) *call {
	c := &call{s: s, start: time.Now(), l: s.labels.get(fullMethod), client: client}
	c.counts.Observer = c
	return c
}

// Sent records a sent message: a request on the client, a response on
// the server.
func (c *call) Sent(n int) {
	f := c.s.respSize
	if c.client {
		f = c.s.reqSize
	}
	f.observe(float64(n), c.l.msgKey, c.l.msgValues)
}

// Received records a received message.
func (c *call) Received(n int) {
	f := c.s.reqSize
	if c.client {
		f = c.s.respSize
	}
	f.observe(float64(n), c.l.msgKey, c.l.msgValues)
}

// end records the call's duration and message counts under its code; reqs
// and resps are the request and response message counts.
func (c *call) end(err error, reqs, resps int64) {
	cl := c.l.forCode(callinfo.Code(err))
	c.s.duration.observe(time.Since(c.start).Seconds(), cl.key, cl.values)
	c.s.reqPerRPC.observe(float64(reqs), cl.key, cl.values)
	c.s.respPerRPC.observe(float64(resps), cl.key, cl.values)
}

// UnaryServerInterceptor measures unary calls on the server.
func (m *Metrics) UnaryServerInterceptor() rpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		c := m.server.begin(info.FullMethod, false)
		c.Received(callinfo.Size(req))
		resp, err := handler(ctx, req)
		var resps int64
		if err == nil {
			c.Sent(callinfo.Size(resp))
			resps = 1
		}
		c.end(err, 1, resps)
		return resp, err
	}
}

// StreamServerInterceptor measures streaming calls on the server.
func (m *Metrics) StreamServerInterceptor() rpc.StreamServerInterceptor {
	return func(srv any, ss rpc.ServerStream, info *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		c := m.server.begin(info.FullMethod, false)
		err := handler(srv, &callinfo.ServerStream{ServerStream: ss, C: &c.counts})
		c.end(err, c.counts.MsgsRecv.Load(), c.counts.MsgsSent.Load())
		return err
	}
}

// UnaryClientInterceptor measures unary calls from the client. Put it
// inside a retry interceptor to measure each attempt.
func (m *Metrics) UnaryClientInterceptor() rpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts ...rpc.CallOption) error {
		c := m.client.begin(method, true)
		c.Sent(callinfo.Size(req))
		err := invoker(ctx, method, req, reply, cc, opts...)
		var resps int64
		if err == nil {
			c.Received(callinfo.Size(reply))
			resps = 1
		}
		c.end(err, 1, resps)
		return err
	}
}

// StreamClientInterceptor measures streaming calls from the client; a call
// is recorded when RecvMsg reports its end, or when its context ends first.
func (m *Metrics) StreamClientInterceptor() rpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, opts ...rpc.CallOption) (rpc.ClientStream, error) {
		c := m.client.begin(method, true)
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			c.end(err, 0, 0)
			return nil, err
		}
		return callinfo.NewClientStream(ctx, s, &c.counts, func(err error) {
			c.end(err, c.counts.MsgsSent.Load(), c.counts.MsgsRecv.Load())
		}), nil
	}
}

// WriteText writes every metric in the Prometheus text format (0.0.4).
func (m *Metrics) WriteText(w io.Writer) error {
	for _, f := range m.all {
		if err := f.write(w); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP serves the metrics for a Prometheus scrape.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_ = m.WriteText(w) // a failed write means the scraper went away
}
