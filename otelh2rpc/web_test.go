package otelh2rpc_test

import (
	"testing"

	"github.com/h2rpc/h2rpc/otelh2rpc"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// A Connect client's calls make client spans as a gRPC client's do, and
// carry the trace to the server: its span is the client span's child.
func TestConnectClientCallMakesASpan(t *testing.T) {
	tel := newTelemetry(t)
	addr := serve(t, &service{}, tel.options()...)
	cc, err := rpc.NewClient(addr, rpc.WithInsecure(), rpc.WithConnect(),
		rpc.WithStatsHandler(otelh2rpc.NewClientHandler(tel.options()...)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	client := testpb.NewTestServiceClient(cc)

	_, err = client.UnaryCall(ctxTimeout(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hi")}})
	require.NoError(t, err)
	spans := tel.waitSpans(t, 2)
	const name = "grpc.testing.TestService/UnaryCall"
	cli := spanOfKind(t, spans, trace.SpanKindClient, name)
	srv := spanOfKind(t, spans, trace.SpanKindServer, name)
	require.Equal(t, cli.SpanContext.SpanID(), srv.Parent.SpanID(), "the trace context went with the Connect request")
	a := attrsOf(cli)
	require.Equal(t, int64(0), a["rpc.grpc.status_code"].AsInt64())
	require.NotEmpty(t, a["server.address"].AsString())
	require.NotEmpty(t, a["network.peer.address"].AsString())

	// A Connect unary error comes in the response body: the span has its code.
	tel.spans.Reset()
	_, err = client.UnaryCall(ctxTimeout(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}})
	require.Equal(t, codes.NotFound, status.Code(err))
	failed := spanOfKind(t, tel.waitSpans(t, 2), trace.SpanKindClient, name)
	require.Equal(t, int64(codes.NotFound), attrsOf(failed)["rpc.grpc.status_code"].AsInt64())
	require.Equal(t, otelcodes.Error, failed.Status.Code)
}
