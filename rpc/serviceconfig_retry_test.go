package rpc

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const retryConfig = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "retryPolicy": {
	"maxAttempts": 4, "initialBackoff": "0.01s", "maxBackoff": "0.05s", "backoffMultiplier": 2,
	"retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// failing makes the server fail its first n calls with code; header sends
// the response headers first (which commits the call).
type failing struct {
	n      int64
	code   codes.Code
	header bool
	calls  atomic.Int64
}

func (f *failing) unary(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
	if f.calls.Add(1) > f.n {
		return h(ctx, req)
	}
	if f.header {
		if err := SendHeader(ctx, metadata.Pairs("k", "v")); err != nil {
			return nil, err
		}
	}
	return nil, status.Error(f.code, "failing on purpose")
}

func (f *failing) stream(srv any, ss ServerStream, _ *StreamServerInfo, h StreamHandler) error {
	if f.calls.Add(1) > f.n {
		return h(srv, ss)
	}
	return status.Error(f.code, "failing on purpose") // trailers-only
}

func retryEnv(t *testing.T, f *failing, sc string) *env {
	return newEnv(t, true, []ServerOption{ChainUnaryInterceptor(f.unary), ChainStreamInterceptor(f.stream)}, WithDefaultServiceConfig(sc))
}

func TestRetryPolicyRetriesUnary(t *testing.T) {
	checkNoLeaks(t)
	f := &failing{n: 2, code: codes.Unavailable}
	e := retryEnv(t, f, retryConfig)
	got, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, "x", got)
	require.EqualValues(t, 3, f.calls.Load())
}

func TestRetryPolicyStopsAtMaxAttempts(t *testing.T) {
	checkNoLeaks(t)
	f := &failing{n: 10, code: codes.Unavailable}
	e := retryEnv(t, f, retryConfig)
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.EqualValues(t, 4, f.calls.Load())
}

func TestRetryPolicyLeavesOtherCodesAndCommittedCalls(t *testing.T) {
	checkNoLeaks(t)
	f := &failing{n: 1, code: codes.Internal}
	e := retryEnv(t, f, retryConfig)
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Internal, status.Code(err))
	require.EqualValues(t, 1, f.calls.Load(), "INTERNAL is not retryable here")

	f2 := &failing{n: 1, code: codes.Unavailable, header: true}
	e2 := retryEnv(t, f2, retryConfig)
	_, err = e2.echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.EqualValues(t, 1, f2.calls.Load(), "response headers commit the call")
}

// pushbackServer answers its first call trailers-only with UNAVAILABLE and
// grpc-retry-pushback-ms (which servers set below the metadata API), and
// the later ones with "ok".
func pushbackServer(t *testing.T, pushback string) (*ClientConn, *atomic.Int64) {
	var calls atomic.Int64
	reply, err := proto.Marshal(wrapperspb.String("ok"))
	require.NoError(t, err)
	body := append([]byte{0, 0, 0, 0, byte(len(reply))}, reply...)
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		_, _ = io.Copy(io.Discard, st)
		hdr := h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
		if calls.Add(1) == 1 {
			_ = st.Respond(append(hdr, h2.HeaderField{Name: "grpc-status", Value: "14"},
				h2.HeaderField{Name: "grpc-retry-pushback-ms", Value: pushback}), &h2.RespondOptions{EndStream: true})
			return
		}
		_ = st.Respond(hdr, &h2.RespondOptions{Body: body, Trailers: h2.Header{{Name: "grpc-status", Value: "0"}}})
	})}
	l := NewInMemoryListener()
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { _ = hs.Close() })
	cc, err := NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial), WithDefaultServiceConfig(retryConfig))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc, &calls
}

func TestRetryPolicyHonoursPushback(t *testing.T) {
	checkNoLeaks(t)
	cc, calls := pushbackServer(t, "-1")
	_, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.EqualValues(t, 1, calls.Load(), "a negative pushback forbids the retry")

	cc, calls = pushbackServer(t, "300")
	start := time.Now()
	got, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, "ok", got)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the retry waited the pushback")
	require.EqualValues(t, 2, calls.Load())
}

// A client stream whose attempt got a trailers-only UNAVAILABLE is opened
// again and its messages sent again.
func TestRetryPolicyReplaysClientStream(t *testing.T) {
	checkNoLeaks(t)
	f := &failing{n: 2, code: codes.Unavailable}
	e := retryEnv(t, f, retryConfig)
	ctx := ctxTimeout(t, 5*time.Second)
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
	require.NoError(t, err)
	for _, s := range []string{"a", "b", "c"} {
		require.NoError(t, cs.SendMsg(wrapperspb.String(s)))
	}
	require.NoError(t, cs.CloseSend())
	out := new(wrapperspb.StringValue)
	require.NoError(t, cs.RecvMsg(out))
	require.Equal(t, "abc", out.Value)
	require.EqualValues(t, 3, f.calls.Load())
}

func TestMethodConfigTimeoutWaitForReadyAndSizes(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil, WithDefaultServiceConfig(`{"methodConfig": [
		{"name": [{"service": "test.Echo", "method": "Echo"}], "timeout": "0.1s"}]}`))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "sleep:2s")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))

	// The size limit on a client of its own: under the 0.1 s timeout its
	// calls, which must succeed or fail by size, could end by the deadline
	// on a loaded machine instead.
	sized, err := NewClient(e.addr, WithInsecure(), WithDefaultServiceConfig(`{"methodConfig": [
		{"name": [{"service": "test.Echo", "method": "Echo"}], "maxResponseMessageBytes": 64}]}`))
	require.NoError(t, err)
	defer sized.Close()
	_, err = (&env{cc: sized}).echo(ctxTimeout(t, 5*time.Second), "big:100")
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	_, err = (&env{cc: sized}).echo(ctxTimeout(t, 5*time.Second), "big:100", MaxCallRecvMsgSize(1000))
	require.NoError(t, err, "a call option overrides the service config")

	// waitForReady from the config: a call to a server not yet listening
	// waits for it instead of failing at once.
	cc, err := NewClient("127.0.0.1:1", WithInsecure(), WithDefaultServiceConfig(`{"methodConfig": [
		{"name": [{"service": "test.Echo"}], "waitForReady": true}]}`))
	require.NoError(t, err)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = (&env{cc: cc}).echo(ctx, "x")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "waited until the deadline: %v", err)
	_, err = (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x", WaitForReady(false))
	require.Equal(t, codes.Unavailable, status.Code(err))
}
