package otelh2rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/otelh2rpc"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collect returns the metrics recorded so far, by name.
func (tel *telemetry) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// points flattens a counter's or histogram's data points into their
// attribute sets and counts (a counter's value, a histogram's count) and
// sums.
type point struct {
	attrs      attribute.Set
	count, sum float64
}

func points(t *testing.T, m metricdata.Metrics) []point {
	t.Helper()
	var out []point
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, point{p.Attributes, float64(p.Value), float64(p.Value)})
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, point{p.Attributes, float64(p.Count), p.Sum})
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, point{p.Attributes, float64(p.Count), float64(p.Sum)})
		}
	default:
		t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
	}
	return out
}

func attr(s attribute.Set, k string) string {
	v, _ := s.Value(attribute.Key(k))
	return v.Emit()
}

func TestA66Metrics(t *testing.T) {
	tel := newTelemetry(t)
	addr := serve(t, &service{}, tel.options()...)
	client, cc := dial(t, addr, tel.options()...)
	body := make([]byte, 100)
	for range 3 {
		_, err := client.UnaryCall(ctxTimeout(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}})
		require.NoError(t, err)
	}
	_, err := client.UnaryCall(ctxTimeout(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}})
	require.Equal(t, codes.NotFound, status.Code(err))
	// Fifty unknown method names, as a hostile or confused peer would send.
	for i := range 50 {
		err := cc.Invoke(ctxTimeout(t), "/grpc.testing.TestService/Nope"+string(rune('A'+i%26))+string(rune('a'+i/26)),
			&testpb.Empty{}, &testpb.Empty{})
		require.Equal(t, codes.Unimplemented, status.Code(err))
	}
	// The server records once the stream has closed.
	require.Eventually(t, func() bool {
		m, ok := tel.collect(t)["grpc.server.call.duration"]
		if !ok {
			return false
		}
		n := 0.0
		for _, p := range points(t, m) {
			n += p.count
		}
		return n == 54
	}, 5*time.Second, time.Millisecond)

	got := tel.collect(t)
	for _, name := range []string{
		"grpc.client.attempt.started", "grpc.client.attempt.duration", "grpc.client.call.duration",
		"grpc.client.attempt.sent_total_compressed_message_size", "grpc.client.attempt.rcvd_total_compressed_message_size",
		"grpc.server.call.started", "grpc.server.call.duration",
		"grpc.server.call.sent_total_compressed_message_size", "grpc.server.call.rcvd_total_compressed_message_size",
	} {
		require.Contains(t, got, name)
	}
	require.NotContains(t, got, "h2rpc.client.stream.duration", "transport metrics are opt-in")
	require.Equal(t, "s", got["grpc.client.call.duration"].Unit)
	require.Equal(t, "By", got["grpc.server.call.rcvd_total_compressed_message_size"].Unit)

	// Server: the unknown methods are one series, "other".
	methods := map[string]float64{}
	for _, p := range points(t, got["grpc.server.call.started"]) {
		methods[attr(p.attrs, "grpc.method")] += p.count
	}
	require.Equal(t, map[string]float64{"grpc.testing.TestService/UnaryCall": 4, "other": 50}, methods)
	var okSizes point
	statuses := map[string]float64{}
	for _, p := range points(t, got["grpc.server.call.rcvd_total_compressed_message_size"]) {
		statuses[attr(p.attrs, "grpc.status")] += p.count
		if attr(p.attrs, "grpc.status") == "OK" {
			okSizes = p
		}
	}
	require.Equal(t, map[string]float64{"OK": 3, "NOT_FOUND": 1, "UNIMPLEMENTED": 50}, statuses)
	// A request of a 100-byte body: payload field (tag, length, 100) in a
	// SimpleRequest field (tag, length), no framing.
	require.Equal(t, float64(3*(100+2+2)), okSizes.sum)

	// Client: grpc.target as given, the method as called.
	for _, p := range points(t, got["grpc.client.attempt.started"]) {
		require.Equal(t, addr, attr(p.attrs, "grpc.target"))
	}
	for _, p := range points(t, got["grpc.client.attempt.sent_total_compressed_message_size"]) {
		if attr(p.attrs, "grpc.method") == "grpc.testing.TestService/UnaryCall" && attr(p.attrs, "grpc.status") == "OK" {
			require.Equal(t, float64(3), p.count)
			require.Equal(t, okSizes.sum, p.sum, "what the client sent is what the server received")
		}
	}
}

func TestTransportMetrics(t *testing.T) {
	tel := newTelemetry(t)
	opts := append(tel.options(), otelh2rpc.WithTransportMetrics())
	addr := serve(t, &service{}, opts...)
	client, _ := dial(t, addr, opts...)
	_, err := client.UnaryCall(ctxTimeout(t), &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := tel.collect(t)["h2rpc.server.stream.duration"]; return ok }, 5*time.Second, time.Millisecond)
	got := tel.collect(t)
	for _, name := range []string{"h2rpc.client.stream.time_to_first_byte", "h2rpc.client.stream.duration"} {
		require.Contains(t, got, name)
		ps := points(t, got[name])
		require.Len(t, ps, 1)
		require.Equal(t, "OK", attr(ps[0].attrs, "grpc.status"))
		require.Greater(t, ps[0].sum, 0.0)
	}
	require.NotContains(t, got, "h2rpc.client.connection.ping_rtt", "no ping was measured yet")
}
