package rpc

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/h2"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestChainUnaryServerOrder(t *testing.T) {
	require.Nil(t, ChainUnaryServer())
	var trace []string
	mk := func(name string) UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			trace = append(trace, name+">")
			resp, err := h(ctx, req.(string)+name)
			trace = append(trace, "<"+name)
			return resp, err
		}
	}
	chain := ChainUnaryServer(mk("a"), mk("b"), mk("c"))
	resp, err := chain(context.Background(), "", &UnaryServerInfo{FullMethod: "/s/m"}, func(ctx context.Context, req any) (any, error) {
		trace = append(trace, "handler")
		return req, nil
	})
	require.NoError(t, err)
	require.Equal(t, "abc", resp)
	require.Equal(t, []string{"a>", "b>", "c>", "handler", "<c", "<b", "<a"}, trace)
	single := mk("x")
	trace = nil
	_, _ = ChainUnaryServer(single)(context.Background(), "", nil, func(context.Context, any) (any, error) { return nil, nil })
	require.Equal(t, []string{"x>", "<x"}, trace)
}

func TestChainStreamServerOrder(t *testing.T) {
	require.Nil(t, ChainStreamServer())
	var trace []string
	mk := func(name string) StreamServerInterceptor {
		return func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
			trace = append(trace, name)
			return h(srv, ss)
		}
	}
	err := ChainStreamServer(mk("a"), mk("b"))(nil, nil, &StreamServerInfo{}, func(any, ServerStream) error {
		trace = append(trace, "h")
		return errors.New("done")
	})
	require.EqualError(t, err, "done")
	require.Equal(t, []string{"a", "b", "h"}, trace)
}

func TestChainClientOrderAndMetadata(t *testing.T) {
	require.Nil(t, ChainUnaryClient())
	require.Nil(t, ChainStreamClient())
	var trace []string
	mk := func(name string) UnaryClientInterceptor {
		return func(ctx context.Context, method string, req, reply any, cc *ClientConn, inv UnaryInvoker, opts ...CallOption) error {
			trace = append(trace, name)
			// Interceptors may add metadata before the call goes out.
			return inv(metadata.AppendToOutgoingContext(ctx, "via", name), method, req, reply, cc, opts...)
		}
	}
	var seen metadata.MD
	err := ChainUnaryClient(mk("a"), mk("b"))(context.Background(), "/s/m", nil, nil, nil,
		func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error {
			seen, _ = metadata.FromOutgoingContext(ctx)
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, trace)
	require.Equal(t, []string{"a", "b"}, seen["via"])

	trace = nil
	smk := func(name string) StreamClientInterceptor {
		return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, s Streamer, opts ...CallOption) (ClientStream, error) {
			trace = append(trace, name)
			return s(ctx, desc, cc, method, opts...)
		}
	}
	_, err = ChainStreamClient(smk("a"), smk("b"), smk("c"))(context.Background(), &StreamDesc{}, nil, "/s/m",
		func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error) {
			trace = append(trace, "s")
			return nil, nil
		})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c", "s"}, trace)
}

func TestCallOptions(t *testing.T) {
	var h, tr metadata.MD
	var ci callInfo
	for _, o := range []CallOption{Header(&h), Trailer(&tr), UseCompressor("gzip"), MaxCallRecvMsgSize(7),
		MaxCallSendMsgSize(9), WaitForReady(true)} {
		o.apply(&ci)
	}
	require.Same(t, &h, ci.header)
	require.Same(t, &tr, ci.trailer)
	require.Equal(t, callInfo{header: &h, trailer: &tr, compressor: "gzip", maxRecv: 7, maxSend: 9, waitForReady: true}, ci)
}

func TestHTTPStatusToCode(t *testing.T) {
	for s, c := range map[int]codes.Code{400: codes.Internal, 401: codes.Unauthenticated, 403: codes.PermissionDenied,
		404: codes.Unimplemented, 429: codes.Unavailable, 502: codes.Unavailable, 503: codes.Unavailable,
		504: codes.Unavailable, 500: codes.Unknown, 302: codes.Unknown} {
		require.Equal(t, c, httpStatusToCode(s), s)
	}
}

// fakeStream feeds RecvMsg from a queue and records SendMsg, to test the
// generic wrappers without a transport.
type fakeStream struct {
	ClientStream
	in     []string
	out    []string
	closed bool
}

func (f *fakeStream) SendMsg(m any) error {
	f.out = append(f.out, m.(*wrapperspb.StringValue).Value)
	return nil
}
func (f *fakeStream) RecvMsg(m any) error {
	if len(f.in) == 0 {
		return io.EOF
	}
	m.(*wrapperspb.StringValue).Value = f.in[0]
	f.in = f.in[1:]
	return nil
}

type fakeServerStream struct{ *fakeStream }

func (fakeServerStream) SetHeader(metadata.MD) error  { return nil }
func (fakeServerStream) SendHeader(metadata.MD) error { return nil }
func (fakeServerStream) SetTrailer(metadata.MD)       {}

func (f *fakeStream) CloseSend() error { f.closed = true; return nil }

func TestGenericStreams(t *testing.T) {
	type S = wrapperspb.StringValue
	fs := &fakeStream{in: []string{"r1", "r2"}}
	var cs BidiStreamingClient[S, S] = &GenericClientStream[S, S]{ClientStream: fs}
	require.NoError(t, cs.Send(wrapperspb.String("s1")))
	m, err := cs.Recv()
	require.NoError(t, err)
	require.Equal(t, "r1", m.Value)
	var ccs ClientStreamingClient[S, S] = &GenericClientStream[S, S]{ClientStream: fs}
	m, err = ccs.CloseAndRecv()
	require.NoError(t, err)
	require.Equal(t, "r2", m.Value)
	require.True(t, fs.closed)
	_, err = cs.Recv()
	require.Equal(t, io.EOF, err)
	// A call with one response that ends with none, or sends two, breaks
	// its cardinality: UNIMPLEMENTED, as the specs ask.
	_, err = ccs.CloseAndRecv()
	require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
	two := &GenericClientStream[S, S]{ClientStream: &fakeStream{in: []string{"a", "b"}}}
	_, err = two.CloseAndRecv()
	require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
	var _ ServerStreamingClient[S] = &GenericClientStream[S, S]{}

	fs2 := &fakeStream{in: []string{"q"}}
	var ss BidiStreamingServer[S, S] = &GenericServerStream[S, S]{ServerStream: fakeServerStream{fs2}}
	q, err := ss.Recv()
	require.NoError(t, err)
	require.Equal(t, "q", q.Value)
	_, err = ss.Recv()
	require.Equal(t, io.EOF, err)
	require.NoError(t, ss.Send(wrapperspb.String("a")))
	var css ClientStreamingServer[S, S] = &GenericServerStream[S, S]{ServerStream: fakeServerStream{fs2}}
	require.NoError(t, css.SendAndClose(wrapperspb.String("b")))
	require.Equal(t, []string{"s1"}, fs.out)
	require.Equal(t, []string{"a", "b"}, fs2.out)
	var _ ServerStreamingServer[S] = &GenericServerStream[S, S]{}
}

func FuzzHeaderMD(f *testing.F) {
	f.Add("k", "v", "x-bin", "AAEC")
	f.Add("grpc-status", "0", "y-bin", "!!")
	f.Add(":path", "/a", "content-type", "application/grpc")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := h2.Header{{Name: k1, Value: v1}, {Name: k2, Value: v2}}
		md := headerMD(h)
		for k, vs := range md {
			require.False(t, strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type", k)
			if metadata.IsBinKey(k) {
				for _, v := range vs {
					// A -bin value that made it in was valid base64 and is decoded.
					require.Equal(t, v, mustDecode(t, metadata.EncodeBin(v)))
				}
			}
		}
	})
}

func mustDecode(t *testing.T, s string) string {
	v, err := metadata.DecodeBin(s)
	require.NoError(t, err)
	return v
}
