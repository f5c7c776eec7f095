package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestCodecForContentType(t *testing.T) {
	for ct, want := range map[string]string{
		"application/grpc":                     "proto",
		"application/grpc;charset=utf-8":       "proto",
		"application/grpc+proto":               "proto",
		"application/grpc+json":                "json",
		"application/grpc+JSON":                "json",
		"application/grpc+json; charset=utf-8": "json",
		"application/grpc+xml":                 "",
		"application/grpc+":                    "",
		"application/grpcx":                    "",
		"text/plain":                           "",
		"":                                     "",
	} {
		e := codecForContentType(ct)
		if want == "" {
			require.Nil(t, e, ct)
			continue
		}
		require.NotNil(t, e, ct)
		require.Equal(t, want, e.codec.Name(), ct)
	}
	require.Equal(t, "application/grpc", codecForContentType("application/grpc").respHeader.Get("content-type"))
	require.Equal(t, "application/grpc+json", codecForContentType("application/grpc+JSON").respHeader.Get("content-type"))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = codecForContentType("application/grpc+json") }))
	require.Panics(t, func() { RegisterCodec(namedCodec{"Bad Name"}) })
	require.Panics(t, func() { RegisterCodec(namedCodec{""}) })
}

// namedCodec is protobuf under another name.
type namedCodec struct{ name string }

func (c namedCodec) Name() string                            { return c.name }
func (namedCodec) Marshal(dst []byte, v any) ([]byte, error) { return ProtoCodec.Marshal(dst, v) }
func (namedCodec) Unmarshal(data []byte, v any) error        { return ProtoCodec.Unmarshal(data, v) }

// A gRPC+JSON request is decoded as JSON and answered in JSON, with the
// subtype echoed in the response's content-type.
func TestJSONRequestOnTheWire(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	body := []byte(`"hello json"`) // google.protobuf.StringValue's JSON form
	frame := append([]byte{0, 0, 0, 0, byte(len(body))}, body...)
	resp, tr, data := rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "application/grpc+json"}, {Name: "te", Value: "trailers"}}, frame)
	require.Equal(t, "200", resp.Get(":status"))
	require.Equal(t, "application/grpc+json", resp.Get("content-type"))
	require.Equal(t, "0", tr.Get("grpc-status"), "%v", tr)
	require.Greater(t, len(data), 5)
	var got string
	require.NoError(t, json.Unmarshal(data[5:], &got), "the response is JSON: %q", data[5:])
	require.Equal(t, "hello json", got)

	// The same bytes sent as protobuf are not JSON: the server must not
	// have decoded the JSON request as protobuf above.
	resp, _, _ = rawCall(t, e.addr, grpcReq("/test.Echo/Echo"), frame)
	require.Equal(t, "13", resp.Get("grpc-status"), "JSON bytes do not parse as protobuf")

	// "+proto" is protobuf, and echoed.
	resp, tr, data = rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "application/grpc+proto"}, {Name: "te", Value: "trailers"}}, encoded(t, "p"))
	require.Equal(t, "application/grpc+proto", resp.Get("content-type"))
	require.Equal(t, "0", tr.Get("grpc-status"))
	require.Equal(t, encoded(t, "p"), data)
}

// An unknown content-subtype is answered with HTTP 415, not decoded as
// protobuf; an error status before any response keeps the subtype too.
func TestUnknownSubtypeIs415(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	resp, _, _ := rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "application/grpc+xml"}, {Name: "te", Value: "trailers"}}, encoded(t, "x"))
	require.Equal(t, "415", resp.Get(":status"))
	require.Empty(t, resp.Get("grpc-status"))

	body := []byte(`"error:5:gone"`)
	resp, _, _ = rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "application/grpc+json"}, {Name: "te", Value: "trailers"}},
		append([]byte{0, 0, 0, 0, byte(len(body))}, body...))
	require.Equal(t, "5", resp.Get("grpc-status"), "trailers-only")
	require.Equal(t, "application/grpc+json", resp.Get("content-type"))

	// A client forcing a codec the server lacks sees the 415 as an error.
	ctx := ctxTimeout(t, 5*time.Second)
	_, err := e.echo(ctx, "x", ForceCodec(namedCodec{"not-on-server"}))
	require.Error(t, err)
	require.Contains(t, err.Error(), "415")
	// A subtype without a codec on the client fails there.
	_, err = e.echo(ctx, "x", CallContentSubtype("xml"))
	require.Equal(t, codes.Internal, status.Code(err))
	require.Contains(t, err.Error(), `"xml"`)
}

// The client side: CallContentSubtype("json") sends JSON and reads JSON,
// for unary and streaming calls; a registered codec works the same way.
func TestCallContentSubtype(t *testing.T) {
	checkNoLeaks(t)
	var seen []string
	e := newEnv(t, false, []ServerOption{
		ChainUnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			ss := serverStreamFromContext(ctx)
			seen = append(seen, ss.req.Get("content-type"))
			return h(ctx, req)
		}),
		ChainStreamInterceptor(func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
			seen = append(seen, ss.(*serverStream).req.Get("content-type"))
			return h(srv, ss)
		}),
	})
	ctx := ctxTimeout(t, 5*time.Second)
	got, err := e.echo(ctx, "via json", CallContentSubtype("JSON"))
	require.NoError(t, err)
	require.Equal(t, "via json", got)

	RegisterCodec(namedCodec{"test-proto-alias"})
	got, err = e.echo(ctx, "via alias", CallContentSubtype("test-proto-alias"))
	require.NoError(t, err)
	require.Equal(t, "via alias", got)
	got, err = e.echo(ctx, "forced", ForceCodec(JSONCodec))
	require.NoError(t, err)
	require.Equal(t, "forced", got)
	got, err = e.echo(ctx, "plain")
	require.NoError(t, err)
	require.Equal(t, "plain", got)

	cs, err := e.cc.NewStream(ctx, &StreamDesc{ServerStreams: true, ClientStreams: true}, "/test.Echo/Chat", CallContentSubtype("json"))
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, cs.SendMsg(wrapperspb.String(fmt.Sprint(i))))
		m := new(wrapperspb.StringValue)
		require.NoError(t, cs.RecvMsg(m))
		require.Equal(t, fmt.Sprintf("echo:%d", i), m.Value)
	}
	require.NoError(t, cs.CloseSend())
	require.ErrorIs(t, cs.RecvMsg(new(wrapperspb.StringValue)), io.EOF)
	require.Equal(t, []string{"application/grpc+json", "application/grpc+test-proto-alias", "application/grpc+json",
		"application/grpc", "application/grpc+json"}, seen)
}
