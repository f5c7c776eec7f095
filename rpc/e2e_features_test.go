package rpc

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDeadline(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.echo(ctx, "sleep:10s")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), err)
	require.Less(t, time.Since(start), 2*time.Second)

	// The server sees the deadline through grpc-timeout.
	var serverDeadline time.Duration
	e2 := newEnv(t, false, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		dl, ok := ctx.Deadline()
		require.True(t, ok)
		serverDeadline = time.Until(dl)
		return h(ctx, req)
	})})
	_, err = e2.echo(ctxTimeout(t, 3*time.Second), "x")
	require.NoError(t, err)
	require.Greater(t, serverDeadline, 2*time.Second)
	require.LessOrEqual(t, serverDeadline, 3*time.Second)

	// An expired deadline fails before anything is sent.
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	_, err = e2.echo(past, "x")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
}

func TestCancellationBothWays(t *testing.T) {
	checkNoLeaks(t)
	handlerErr := make(chan error, 1)
	e := newEnv(t, true, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		handlerErr <- ctx.Err()
		return resp, err
	})})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-e.impl.started
		cancel()
	}()
	_, err := e.echo(ctx, "block")
	require.Equal(t, codes.Canceled, status.Code(err))
	select {
	case herr := <-handlerErr:
		require.ErrorIs(t, herr, context.Canceled, "client cancel must reach the server as RST_STREAM")
	case <-time.After(3 * time.Second):
		t.Fatal("server handler was not canceled")
	}

	// Server side: a handler returning CANCELLED reaches the client as such.
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "error:1:server gave up")
	require.Equal(t, codes.Canceled, status.Code(err))
}

func TestMetadataBothWays(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "k", "v1", "k", "v2", "t", "tv", "kb-bin", "\x00\xff\x01")
		var hdr, trl metadata.MD
		got, err := e.echo(ctx, "md", Header(&hdr), Trailer(&trl))
		require.NoError(t, err)
		require.Equal(t, "md", got)
		require.Equal(t, []string{"v1", "v2"}, hdr["k"])
		require.Equal(t, []string{"\x00\xff\x01"}, hdr["kb-bin"])
		require.Equal(t, []string{"tv"}, trl["t"])

		// Invalid outgoing metadata is refused locally with a clear error.
		bad := metadata.AppendToOutgoingContext(ctxTimeout(t, time.Second), "k", "bad\nvalue")
		_, err = e.echo(bad, "x")
		require.Equal(t, codes.Internal, status.Code(err))
		require.Contains(t, err.Error(), "metadata")
	})
}

func TestStreamHeaderTrailer(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[0], "/test.Echo/Count")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.Int32(0)))
	require.NoError(t, cs.CloseSend())
	// Zero messages: the server answers trailers-only.
	err = cs.RecvMsg(new(wrapperspb.StringValue))
	require.Equal(t, "EOF", err.Error())
	md, err := cs.Header()
	require.NoError(t, err)
	require.Empty(t, md)
	require.Empty(t, cs.Trailer())
}

func TestMessageSizeLimits(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, []ServerOption{MaxRecvMsgSize(1000), MaxSendMsgSize(2000)})
	ctx := ctxTimeout(t, 5*time.Second)
	// Server receive limit.
	_, err := e.echo(ctx, strings.Repeat("a", 1100))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	// Server send limit.
	_, err = e.echo(ctx, "big:3000")
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	// Client receive limit.
	_, err = e.echo(ctx, "big:1500", MaxCallRecvMsgSize(1000))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	// Client send limit.
	_, err = e.echo(ctx, strings.Repeat("a", 600), MaxCallSendMsgSize(500))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	// Within limits all is fine, and the server is still serving.
	got, err := e.echo(ctx, "big:1500")
	require.NoError(t, err)
	require.Len(t, got, 1500)
	// Compressed requests are checked again after decompression.
	_, err = e.echo(ctx, strings.Repeat("a", 5000), UseCompressor("gzip"))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
}

func TestCompression(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		ctx := ctxTimeout(t, 5*time.Second)
		long := strings.Repeat("compress me ", 1000)
		got, err := e.echo(ctx, long, UseCompressor("gzip"))
		require.NoError(t, err)
		require.Equal(t, long, got)
		_, err = e.echo(ctx, "x", UseCompressor("nope"))
		require.Equal(t, codes.Internal, status.Code(err))
	})
}

func TestInterceptorsEndToEnd(t *testing.T) {
	checkNoLeaks(t)
	var order []string
	srvInt := func(name string) UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			require.Equal(t, "/test.Echo/Echo", info.FullMethod)
			order = append(order, name)
			return h(ctx, req)
		}
	}
	var streamSeen string
	e := newEnv(t, false, []ServerOption{
		ChainUnaryInterceptor(srvInt("s1"), srvInt("s2")),
		StreamInterceptor(func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
			streamSeen = info.FullMethod
			return h(srv, ss)
		}),
	}, WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *ClientConn, inv UnaryInvoker, opts ...CallOption) error {
		order = append(order, "c1")
		return inv(metadata.AppendToOutgoingContext(ctx, "k", "from-interceptor"), method, req, reply, cc, opts...)
	}), WithStreamInterceptor(func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, s Streamer, opts ...CallOption) (ClientStream, error) {
		order = append(order, "cs")
		return s(ctx, desc, cc, method, opts...)
	}))
	var hdr metadata.MD
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "md", Header(&hdr))
	require.NoError(t, err)
	require.Equal(t, []string{"from-interceptor"}, hdr["k"])
	require.Equal(t, []string{"c1", "s1", "s2"}, order)
	cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[2], "/test.Echo/Chat")
	require.NoError(t, err)
	require.NoError(t, cs.CloseSend())
	require.Equal(t, "EOF", cs.RecvMsg(new(wrapperspb.StringValue)).Error())
	require.Equal(t, "/test.Echo/Chat", streamSeen)
	require.Equal(t, "cs", order[len(order)-1])
}

func TestServerInterceptorRewritesMetadata(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		md, ok := metadata.FromIncomingContext(ctx)
		require.True(t, ok)
		require.Equal(t, []string{"original"}, md["k"])
		require.NotEmpty(t, md["user-agent"])
		md.Set("k", "rewritten")
		return h(metadata.NewIncomingContext(ctx, md), req)
	})})
	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "k", "original")
	var hdr metadata.MD
	_, err := e.echo(ctx, "md", Header(&hdr))
	require.NoError(t, err)
	require.Equal(t, []string{"rewritten"}, hdr["k"])
}

func TestReservedMetadataIsDropped(t *testing.T) {
	checkNoLeaks(t)
	var seen metadata.MD
	e := newEnv(t, true, []ServerOption{UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		seen, _ = metadata.FromIncomingContext(ctx)
		_ = SetHeader(ctx, metadata.Pairs("content-type", "text/plain", "connection", "close", "ok", "1"))
		return h(ctx, req)
	})})
	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second),
		"content-type", "text/plain", "connection", "close", "te", "gzip", "transfer-encoding", "chunked", "k", "v")
	var hdr metadata.MD
	got, err := e.echo(ctx, "fine", Header(&hdr))
	require.NoError(t, err, "reserved keys must not break the call")
	require.Equal(t, "fine", got)
	require.Equal(t, []string{"v"}, seen["k"])
	require.NotContains(t, seen, "connection")
	require.NotContains(t, seen, "transfer-encoding")
	require.Equal(t, []string{"1"}, hdr["ok"])
	require.NotContains(t, hdr, "connection")
}

func TestStreamHeaderConcurrentWithRecv(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	var hdr metadata.MD
	cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[2], "/test.Echo/Chat", Header(&hdr))
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("a")))
	done := make(chan error, 1)
	go func() {
		_, err := cs.Header()
		done <- err
	}()
	require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
	require.NoError(t, <-done)
	require.NoError(t, cs.CloseSend())
	require.Equal(t, "EOF", cs.RecvMsg(new(wrapperspb.StringValue)).Error())
	got, err := cs.Header()
	require.NoError(t, err)
	require.Equal(t, got, hdr, "the Header call option holds what Header returns")
}

// TestStepsAfterCancelSeeTheCancel: a call whose context is canceled ends
// Canceled at its next step, however fast the server would have answered.
// The context's watcher resets the stream from its own goroutine; the steps
// must not race it (the interop case cancel_after_begin once saw a client
// stream canceled before CloseSend succeed).
func TestStepsAfterCancelSeeTheCancel(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.String("a")))
		cancel()
		require.NoError(t, cs.CloseSend())
		err = cs.RecvMsg(new(wrapperspb.StringValue))
		require.Equal(t, codes.Canceled, status.Code(err), "round %d: %v", i, err)

		ctx, cancel = context.WithCancel(context.Background())
		cs, err = e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
		require.NoError(t, err)
		cancel()
		require.Equal(t, io.EOF, cs.SendMsg(wrapperspb.String("a")), "round %d", i)
		require.NoError(t, cs.CloseSend())
		err = cs.RecvMsg(new(wrapperspb.StringValue))
		require.Equal(t, codes.Canceled, status.Code(err), "round %d: %v", i, err)
	}
}

// TestCallCanceledBeforeItBeginsNeverReachesTheServer: with a ready
// connection nothing waits, so only an explicit check keeps a call whose
// context has already ended from going out (and being reset right after).
func TestCallCanceledBeforeItBeginsNeverReachesTheServer(t *testing.T) {
	checkNoLeaks(t)
	var seen atomic.Int32
	e := newEnv(t, false, []ServerOption{
		UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			seen.Add(1)
			return h(ctx, req)
		}),
		StreamInterceptor(func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
			seen.Add(1)
			return h(srv, ss)
		}),
	})
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "ready")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 50; i++ {
		_, err := e.echo(ctx, "x")
		require.Equal(t, codes.Canceled, status.Code(err), "round %d: %v", i, err)
		_, err = e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
		require.Equal(t, codes.Canceled, status.Code(err), "round %d: %v", i, err)
	}
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "after") // behind the 100 calls, had they gone out
	require.NoError(t, err)
	require.Equal(t, int32(2), seen.Load(), "only the two live calls reached the server")
}

// TestCancelWhileSendingAndReceiving: SendMsg and RecvMsg may run on two
// goroutines at once; a cancel ends both, Canceled for the receiver and
// io.EOF for the sender (under -race, also: without touching shared state).
func TestCancelWhileSendingAndReceiving(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[2], "/test.Echo/Chat")
		require.NoError(t, err)
		sent := make(chan error, 1)
		go func() {
			var err error
			for err == nil {
				err = cs.SendMsg(wrapperspb.String("a"))
			}
			sent <- err
		}()
		require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
		cancel()
		for err == nil {
			err = cs.RecvMsg(new(wrapperspb.StringValue))
		}
		require.Equal(t, codes.Canceled, status.Code(err), "round %d: %v", i, err)
		require.Equal(t, io.EOF, <-sent, "round %d", i)
	}
}
