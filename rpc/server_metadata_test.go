package rpc

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Metadata a handler sets that cannot be sent (CR LF ready to be injected
// into an HTTP/1.1 hop, a bad key, a value with a space at an end) fails the
// call with INTERNAL naming the key, whether or not the handler looked at
// the error, and the server logs it; nothing of it reaches the wire.
func TestHandlerMetadataThatCannotBeSent(t *testing.T) {
	checkNoLeaks(t)
	var logs syncBuffer
	setters := map[string]func(ctx context.Context){
		"trailer-crlf":  func(ctx context.Context) { _ = SetTrailer(ctx, metadata.MD{"x-bad": {"a\r\nb"}}) },
		"trailer-space": func(ctx context.Context) { _ = SetTrailer(ctx, metadata.MD{"x-bad": {"padded "}}) },
		"header-key":    func(ctx context.Context) { _ = SetHeader(ctx, metadata.MD{"x bad": {"v"}}) },
		"header-lf":     func(ctx context.Context) { _ = SendHeader(ctx, metadata.MD{"x-bad": {"a\nb"}}) },
	}
	e := newEnv(t, false, []ServerOption{
		Logger(slog.New(slog.NewJSONHandler(&logs, nil))),
		ChainUnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			if set := setters[req.(*wrapperspb.StringValue).GetValue()]; set != nil {
				set(ctx)
			}
			return h(ctx, req)
		}),
	})
	ctx := ctxTimeout(t, 5*time.Second)
	for name, key := range map[string]string{"trailer-crlf": "x-bad", "trailer-space": "x-bad", "header-key": "x bad", "header-lf": "x-bad"} {
		var trl metadata.MD
		got, err := e.echo(ctx, name, Trailer(&trl))
		require.Equal(t, codes.Internal, status.Code(err), name)
		require.Contains(t, status.Convert(err).Message(), `"`+key+`"`, "%s: the message names the key", name)
		require.Empty(t, got, "%s: no response with a failed status", name)
		require.NotContains(t, trl, "x-bad", name)
	}
	recs := logs.records(t)
	require.Len(t, recs, 4)
	for _, rec := range recs {
		require.Equal(t, "ERROR", rec["level"])
		require.Equal(t, "/test.Echo/Echo", rec["rpc.method"])
		require.Contains(t, rec["error"], "metadata")
	}
	got, err := e.echo(ctx, "still fine")
	require.NoError(t, err)
	require.Equal(t, "still fine", got)
}

// Metadata the client sets that cannot be sent fails the call with INTERNAL
// on the client, before anything reaches the server.
func TestClientMetadataThatCannotBeSent(t *testing.T) {
	checkNoLeaks(t)
	var calls atomic.Int32
	e := newEnv(t, false, []ServerOption{ChainUnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		calls.Add(1)
		return h(ctx, req)
	})})
	ctx := ctxTimeout(t, 5*time.Second)
	for _, tc := range []struct {
		md  metadata.MD
		key string
	}{
		{metadata.MD{"x-bad": {"a\r\nb"}}, "x-bad"},
		{metadata.MD{"x-bad": {" lead"}}, "x-bad"},
		{metadata.MD{"x bad": {"v"}}, "x bad"},
		{metadata.MD{"x-bad": {"nul\x00"}}, "x-bad"},
	} {
		_, err := e.echo(metadata.NewOutgoingContext(ctx, tc.md), "x")
		require.Equal(t, codes.Internal, status.Code(err), "%v", tc.md)
		require.Contains(t, status.Convert(err).Message(), `"`+tc.key+`"`, "the message names the key")
	}
	require.Zero(t, calls.Load(), "no call reached the server")
}

// A call that fails after its handler set header metadata still sends that
// metadata as a header block (then the status in trailers), not in a
// trailers-only response where clients would read it as trailers.
func TestHeaderMetadataOfAFailedCall(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		require.NoError(t, SetHeader(ctx, metadata.Pairs("x-h", "v")))
		require.NoError(t, SetTrailer(ctx, metadata.Pairs("x-t", "w")))
		return nil, status.Error(codes.PermissionDenied, "no")
	})})
	resp, tr, _ := rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), encoded(t, "x"))
	require.Equal(t, "v", resp.Get("x-h"))
	require.Empty(t, resp.Get("grpc-status"))
	require.Equal(t, "7", tr.Get("grpc-status"))
	require.Equal(t, "w", tr.Get("x-t"))

	var hdr, trl metadata.MD
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x", Header(&hdr), Trailer(&trl))
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.Equal(t, []string{"v"}, hdr["x-h"])
	require.Equal(t, []string{"w"}, trl["x-t"])
}
