package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type tagKey struct{}

// recorder is a StatsHandler that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	tagged []string
	got    []RPCStats
	tags   []any // the tag value seen by HandleRPC's context
}

func (r *recorder) TagRPC(ctx context.Context, method string) context.Context {
	r.mu.Lock()
	r.tagged = append(r.tagged, method)
	r.mu.Unlock()
	return context.WithValue(ctx, tagKey{}, "tag:"+method)
}

func (r *recorder) HandleRPC(ctx context.Context, s *RPCStats) {
	r.mu.Lock()
	r.got = append(r.got, *s)
	r.tags = append(r.tags, ctx.Value(tagKey{}))
	r.mu.Unlock()
}

func (r *recorder) all() ([]RPCStats, []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RPCStats(nil), r.got...), append([]any(nil), r.tags...)
}

// waitStats waits until r holds n reports: the server reports after the
// status was sent, so the client may see its result first.
func waitStats(t *testing.T, r *recorder, n int) []RPCStats {
	t.Helper()
	require.Eventually(t, func() bool { got, _ := r.all(); return len(got) >= n }, 5*time.Second, time.Millisecond)
	got, _ := r.all()
	require.Len(t, got, n)
	return got
}

// findStats returns the report that match accepts. Reports of calls that
// ended one after the other may arrive in either order: the server reports
// once the stream has closed, which races with the next call.
func findStats(t *testing.T, reports []RPCStats, match func(RPCStats) bool) RPCStats {
	t.Helper()
	for _, r := range reports {
		if match(r) {
			return r
		}
	}
	t.Fatalf("no matching report in %+v", reports)
	return RPCStats{}
}

func TestStatsHandlerUnary(t *testing.T) {
	checkNoLeaks(t)
	srvRec, cliRec := &recorder{}, &recorder{}
	e := newEnv(t, true, []ServerOption{StatsHandlerOption(srvRec)}, WithStatsHandler(cliRec))
	before := time.Now()
	got, err := e.echo(ctxTimeout(t, 5*time.Second), "hello")
	require.NoError(t, err)
	require.Equal(t, "hello", got)
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "error:5:gone")
	require.Equal(t, codes.NotFound, codeOf(err))

	for _, side := range []*recorder{cliRec, srvRec} {
		st := waitStats(t, side, 2)
		_, tags := side.all()
		ok := findStats(t, st, func(r RPCStats) bool { return r.Code == codes.OK })
		bad := findStats(t, st, func(r RPCStats) bool { return r.Code == codes.NotFound })
		require.Equal(t, side == cliRec, ok.Client)
		require.Equal(t, "/test.Echo/Echo", ok.FullMethod)
		require.Equal(t, "tag:/test.Echo/Echo", tags[0], "HandleRPC gets the context TagRPC returned")
		require.Equal(t, codes.OK, ok.Code)
		require.Equal(t, codes.NotFound, bad.Code)
		require.Equal(t, 1, ok.MsgsSent)
		require.Equal(t, 1, ok.MsgsRecv)
		require.Equal(t, 1, bad.MsgsRecv+bad.MsgsSent, "the failed call: one request, no response")
		// The request is a StringValue "hello": 7 bytes of proto + 5 of prefix.
		if ok.Client {
			require.Equal(t, int64(12), ok.WireBytesSent)
			require.Equal(t, int64(12), ok.WireBytesRecv)
		} else {
			require.Equal(t, int64(12), ok.WireBytesRecv)
			require.Equal(t, int64(12), ok.WireBytesSent)
		}
		require.False(t, ok.Begin.Before(before))
		require.True(t, ok.End.After(ok.Begin))
		if ok.Client { // h2 stamps server streams and closes with a coarse clock
			require.Greater(t, ok.TimeToFirstByte, time.Duration(0))
		}
		require.NotNil(t, ok.Peer)
		if ok.Client {
			require.Equal(t, e.addr, ok.Peer.Addr.String())
		} else {
			require.Equal(t, e.addr, ok.Peer.LocalAddr.String())
		}
	}
}

func TestStatsHandlerStreamsAndPingRTT(t *testing.T) {
	checkNoLeaks(t)
	srvRec, cliRec := &recorder{}, &recorder{}
	e := newEnv(t, false, []ServerOption{StatsHandlerOption(srvRec)}, WithStatsHandler(cliRec))
	ctx := ctxTimeout(t, 5*time.Second)
	_, err := e.echo(ctx, "warm up")
	require.NoError(t, err)
	sess, err := e.cc.pick(ctx, false)
	require.NoError(t, err)
	_, err = sess.Ping(ctx, [8]byte{1})
	require.NoError(t, err)

	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.Int32(7)))
	require.NoError(t, cs.CloseSend())
	n := 0
	for cs.RecvMsg(new(wrapperspb.StringValue)) == nil {
		n++
	}
	require.Equal(t, 7, n)

	isCount := func(r RPCStats) bool { return r.FullMethod == "/test.Echo/Count" }
	cli := findStats(t, waitStats(t, cliRec, 2), isCount)
	require.Equal(t, "/test.Echo/Count", cli.FullMethod)
	require.Equal(t, codes.OK, cli.Code)
	require.Equal(t, 1, cli.MsgsSent)
	require.Equal(t, 7, cli.MsgsRecv)
	require.Greater(t, cli.PingRTT, time.Duration(0), "the client's ping was measured")
	srv := findStats(t, waitStats(t, srvRec, 2), isCount)
	require.Equal(t, 7, srv.MsgsSent)
	require.Equal(t, 1, srv.MsgsRecv)
	require.Greater(t, srv.WireBytesSent, int64(7*5))
}

func TestStatsHandlerCallWithoutServer(t *testing.T) {
	checkNoLeaks(t)
	rec := &recorder{}
	cc, err := NewClient("127.0.0.1:1", WithInsecure(), WithStatsHandler(rec))
	require.NoError(t, err)
	defer cc.Close()
	err = cc.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue))
	require.Equal(t, codes.Unavailable, codeOf(err))
	st := waitStats(t, rec, 1)
	require.Equal(t, codes.Unavailable, st[0].Code)
	require.Equal(t, "/test.Echo/Echo", st[0].FullMethod)
	require.Nil(t, st[0].Peer)
}

func TestWithPeerCallOption(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		var p Peer
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "hi", WithPeer(&p))
		require.NoError(t, err)
		require.NotNil(t, p.Addr)
		require.NotNil(t, p.LocalAddr)
		require.Nil(t, p.TLS)
		if tcp {
			require.Equal(t, e.addr, p.Addr.String())
		}
	})
}

func TestRegisterOnShutdown(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "up")
	require.NoError(t, err)
	var mu sync.Mutex
	calls := 0
	var during error
	e.srv.RegisterOnShutdown(func() {
		// Before any GOAWAY: the existing connection still takes calls.
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "during")
		mu.Lock()
		calls++
		during = err
		mu.Unlock()
	})
	require.NoError(t, e.srv.Shutdown(ctxTimeout(t, 5*time.Second)))
	e.srv.Stop()
	require.NoError(t, e.srv.Shutdown(ctxTimeout(t, 5*time.Second)))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, calls, "run once, and finished before Shutdown returned")
	require.NoError(t, during)
}

func TestStopDoesNotWaitForShutdownFuncs(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	release := make(chan struct{})
	started := make(chan struct{})
	srv.RegisterOnShutdown(func() { close(started); <-release })
	srv.Stop()
	<-started
	close(release)
}

// A stream abandoned by canceling its context is reported once, as
// CANCELED, although nobody calls RecvMsg again.
func TestStatsHandlerCanceledStream(t *testing.T) {
	checkNoLeaks(t)
	rec := &recorder{}
	e := newEnv(t, false, nil, WithStatsHandler(rec))
	ctx, cancel := context.WithCancel(context.Background())
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[2], "/test.Echo/Chat")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("a")))
	require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
	cancel()
	st := waitStats(t, rec, 1)[0]
	require.Equal(t, codes.Canceled, st.Code)
	require.Equal(t, "/test.Echo/Chat", st.FullMethod)
	require.Equal(t, 1, st.MsgsSent)
	require.Equal(t, 1, st.MsgsRecv)
	// A later RecvMsg does not report it again.
	require.Error(t, cs.RecvMsg(new(wrapperspb.StringValue)))
	time.Sleep(20 * time.Millisecond)
	got, _ := rec.all()
	require.Len(t, got, 1)
}

// A unary call that never got a stream (it waited for a slot until its
// deadline) sent nothing, and its report says so.
func TestStatsHandlerCallThatNeverGotAStream(t *testing.T) {
	checkNoLeaks(t)
	rec := &recorder{}
	e := newEnv(t, false, []ServerOption{MaxConcurrentStreams(1)}, WithStatsHandler(rec))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[2], "/test.Echo/Chat") // holds the only slot
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("a")))
	require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
	err = e.cc.Invoke(ctxTimeout(t, 100*time.Millisecond), "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue))
	require.Equal(t, codes.DeadlineExceeded, codeOf(err))
	st := waitStats(t, rec, 1)[0]
	require.Equal(t, "/test.Echo/Echo", st.FullMethod)
	require.Zero(t, st.MsgsSent)
}
