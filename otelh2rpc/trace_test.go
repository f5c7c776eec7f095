package otelh2rpc_test

import (
	"strconv"
	"strings"
	"testing"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func attrsOf(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func spanOfKind(t *testing.T, spans tracetest.SpanStubs, kind trace.SpanKind, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.SpanKind == kind && s.Name == name {
			return s
		}
	}
	t.Fatalf("no %v span %q among %d", kind, name, len(spans))
	return tracetest.SpanStub{}
}

func TestClientAndServerSpansShareATraceOverTCP(t *testing.T) {
	tel := newTelemetry(t)
	svc := &service{baggage: make(chan string, 1)}
	addr := serve(t, svc, tel.options()...)
	client, _ := dial(t, addr, tel.options()...)

	member, err := baggage.NewMember("tenant", "acme")
	require.NoError(t, err)
	bag, err := baggage.New(member)
	require.NoError(t, err)
	ctx := baggage.ContextWithBaggage(ctxTimeout(t), bag)
	_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hi")}})
	require.NoError(t, err)
	require.Equal(t, "acme", <-svc.baggage, "baggage reached the handler")

	spans := tel.waitSpans(t, 2)
	const name = "grpc.testing.TestService/UnaryCall"
	cli := spanOfKind(t, spans, trace.SpanKindClient, name)
	srv := spanOfKind(t, spans, trace.SpanKindServer, name)
	require.True(t, cli.SpanContext.TraceID().IsValid())
	require.Equal(t, cli.SpanContext.TraceID(), srv.SpanContext.TraceID(), "one trace")
	require.Equal(t, cli.SpanContext.SpanID(), srv.Parent.SpanID(), "the server span is the client span's child")
	require.True(t, srv.Parent.IsRemote())

	host, port, _ := strings.Cut(addr, ":")
	wantPort, _ := strconv.Atoi(port)
	for _, s := range []tracetest.SpanStub{cli, srv} {
		a := attrsOf(s)
		require.Equal(t, "grpc", a["rpc.system"].AsString())
		require.Equal(t, "grpc.testing.TestService", a["rpc.service"].AsString())
		require.Equal(t, "UnaryCall", a["rpc.method"].AsString())
		require.Equal(t, int64(0), a["rpc.grpc.status_code"].AsInt64())
		require.Equal(t, host, a["server.address"].AsString())
		require.Equal(t, int64(wantPort), a["server.port"].AsInt64())
		require.Equal(t, host, a["network.peer.address"].AsString())
		require.Equal(t, otelcodes.Unset, s.Status.Code)
	}
	require.Equal(t, int64(wantPort), attrsOf(cli)["network.peer.port"].AsInt64(), "the client's peer is the server")
}

func TestTraceAcrossTwoHops(t *testing.T) {
	tel := newTelemetry(t)
	back := serve(t, &service{}, tel.options()...)
	backClient, _ := dial(t, back, tel.options()...)
	front := serve(t, &service{next: backClient}, tel.options()...)
	client, _ := dial(t, front, tel.options()...)

	_, err := client.UnaryCall(ctxTimeout(t), &testpb.SimpleRequest{})
	require.NoError(t, err)
	spans := tel.waitSpans(t, 4)
	trace0 := spans[0].SpanContext.TraceID()
	byParent := map[trace.SpanID][]tracetest.SpanStub{}
	for _, s := range spans {
		require.Equal(t, trace0, s.SpanContext.TraceID(), "all four spans in one trace")
		byParent[s.Parent.SpanID()] = append(byParent[s.Parent.SpanID()], s)
	}
	// The chain: client -> front server -> its client -> back server.
	root := byParent[trace.SpanID{}]
	require.Len(t, root, 1)
	kinds := []trace.SpanKind{root[0].SpanKind}
	for cur := root[0]; len(byParent[cur.SpanContext.SpanID()]) == 1; {
		cur = byParent[cur.SpanContext.SpanID()][0]
		kinds = append(kinds, cur.SpanKind)
	}
	require.Equal(t, []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindServer}, kinds)
}

func TestSpanStatusFollowsTheConventions(t *testing.T) {
	tel := newTelemetry(t)
	addr := serve(t, &service{}, tel.options()...)
	client, _ := dial(t, addr, tel.options()...)
	fail := func(c codes.Code) *testpb.SimpleRequest {
		return &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(c), Message: "no"}}
	}
	_, err := client.UnaryCall(ctxTimeout(t), fail(codes.NotFound))
	require.Error(t, err)
	spans := tel.waitSpans(t, 2)
	cli := spanOfKind(t, spans, trace.SpanKindClient, "grpc.testing.TestService/UnaryCall")
	srv := spanOfKind(t, spans, trace.SpanKindServer, "grpc.testing.TestService/UnaryCall")
	require.Equal(t, otelcodes.Error, cli.Status.Code, "any failure is a client error")
	require.Equal(t, otelcodes.Unset, srv.Status.Code, "NOT_FOUND is not a server error")
	require.Equal(t, int64(5), attrsOf(srv)["rpc.grpc.status_code"].AsInt64())

	tel.spans.Reset()
	_, err = client.UnaryCall(ctxTimeout(t), fail(codes.Internal))
	require.Error(t, err)
	spans = tel.waitSpans(t, 2)
	srv = spanOfKind(t, spans, trace.SpanKindServer, "grpc.testing.TestService/UnaryCall")
	require.Equal(t, otelcodes.Error, srv.Status.Code, "INTERNAL is")
}
