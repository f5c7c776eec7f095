package rpc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The client options that only change what goes on the wire, each checked
// from the server's side.

// seenByServer records, from a unary server interceptor, what the last
// call looked like to the server.
type seenByServer struct {
	userAgent string
	method    string
	sess      *h2.Session
}

func (s *seenByServer) interceptor() ServerOption {
	return ChainUnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		s.userAgent = strings.Join(md["user-agent"], ",")
		s.method, _ = Method(ctx)
		s.sess = serverStreamFromContext(ctx).h2Stream().Session()
		return h(ctx, req)
	})
}

func TestUserAgentAndMethodReachTheServer(t *testing.T) {
	checkNoLeaks(t)
	var seen seenByServer
	e := newEnv(t, true, []ServerOption{seen.interceptor()}, WithUserAgent("my-app/1.2"))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(seen.userAgent, "my-app/1.2 "), "user-agent %q", seen.userAgent)
	require.Contains(t, seen.userAgent, "h2rpc", "the library's own user-agent follows")
	require.Equal(t, "/test.Echo/Echo", seen.method)
	_, ok := Method(context.Background())
	require.False(t, ok, "no method outside a server call")
}

func TestWindowSizeOptionsAreAdvertised(t *testing.T) {
	checkNoLeaks(t)
	var seen seenByServer
	const streamWindow, connWindow = 256 << 10, 8 << 20
	e := newEnv(t, true, []ServerOption{seen.interceptor()},
		WithInitialWindowSize(streamWindow), WithInitialConnWindowSize(connWindow))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, uint32(streamWindow), seen.sess.RemoteSettings().InitialWindowSize)
	// The connection window goes up by WINDOW_UPDATE after the preface;
	// the server may have spent a little of it on its answer.
	require.Greater(t, seen.sess.State().RemoteWindowSize, int64(connWindow-(64<<10)))
}

func TestChainStreamInterceptorOrder(t *testing.T) {
	checkNoLeaks(t)
	var order []string
	mark := func(name string) StreamClientInterceptor {
		return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error) {
			order = append(order, name)
			return streamer(ctx, desc, cc, method, opts...)
		}
	}
	e := newEnv(t, false, nil, WithChainStreamInterceptor(mark("outer"), mark("inner")))
	ctx := ctxTimeout(t, 5*time.Second)
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.Int32(1)))
	require.NoError(t, cs.CloseSend())
	for cs.RecvMsg(new(wrapperspb.Int32Value)) == nil {
	}
	require.Equal(t, []string{"outer", "inner"}, order)
}

// The resolver's service config applies from the first call on (which once
// read the config before the resolver had run, and went without it), and
// WithDisableServiceConfig ignores it: its 10 ms method timeout fails a
// call that takes 100 ms.
func TestDisableServiceConfigIgnoresTheResolvers(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	const sc = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "timeout": "0.01s"}]}`
	for _, disable := range []bool{false, true} {
		m := resolver.NewManual("sc")
		m.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: e.addr}}, ServiceConfig: sc})
		opts := []DialOption{WithInsecure(), WithResolvers(m)}
		if disable {
			opts = append(opts, WithDisableServiceConfig())
		}
		cc, err := NewClient("sc:///x", opts...)
		require.NoError(t, err)
		_, err = (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "sleep:100ms")
		cc.Close()
		if disable {
			require.NoError(t, err)
		} else {
			require.Equal(t, codes.DeadlineExceeded, status.Code(err), "the resolver's 10 ms timeout applies: %v", err)
		}
	}
}

func TestGetCodec(t *testing.T) {
	require.NotNil(t, GetCodec("proto"))
	require.NotNil(t, GetCodec("json"))
	require.Nil(t, GetCodec("nope"))
}
