package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// syncBuffer is a log sink that handler goroutines write and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// records returns the JSON log records written so far.
func (w *syncBuffer) records(t *testing.T) []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(w.b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		out = append(out, rec)
	}
	return out
}

// requirePanicRecord checks that rec logs a panic of method with the value
// and a stack that shows where it happened.
func requirePanicRecord(t *testing.T, rec map[string]any, method, value, frame string) {
	t.Helper()
	require.Equal(t, "ERROR", rec["level"])
	require.Equal(t, method, rec["rpc.method"])
	require.Equal(t, value, rec["panic"])
	require.Contains(t, rec["stack"], frame, "the stack shows the panicking function")
}

func TestHandlerPanicIsLoggedNotSent(t *testing.T) {
	checkNoLeaks(t)
	var logs syncBuffer
	e := newEnv(t, false, []ServerOption{Logger(slog.New(slog.NewJSONHandler(&logs, nil)))})
	ctx := ctxTimeout(t, 5*time.Second)

	_, err := e.echo(ctx, "panic")
	require.Equal(t, codes.Internal, status.Code(err))
	require.Equal(t, "internal error", status.Convert(err).Message())
	require.NotContains(t, err.Error(), "boom", "the panic value stays on the server")
	recs := logs.records(t)
	require.Len(t, recs, 1)
	requirePanicRecord(t, recs[0], "/test.Echo/Echo", "boom", "(*echoImpl).Echo")

	got, err := e.echo(ctx, "still alive")
	require.NoError(t, err, "the server keeps serving")
	require.Equal(t, "still alive", got)
}

func TestHandlerPanicLogsToSlogDefault(t *testing.T) {
	checkNoLeaks(t)
	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	e := newEnv(t, false, nil)
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "panic")
	require.Equal(t, codes.Internal, status.Code(err))
	recs := logs.records(t)
	require.Len(t, recs, 1)
	requirePanicRecord(t, recs[0], "/test.Echo/Echo", "boom", "(*echoImpl).Echo")
}

// Panics in streaming handlers and in interceptors are caught the same way,
// and OnHandlerPanic chooses the status (a nil or plain error: INTERNAL).
func TestStreamAndInterceptorPanics(t *testing.T) {
	checkNoLeaks(t)
	var logs syncBuffer
	var hookCalls []string
	var hookMu sync.Mutex
	e := newEnv(t, false, []ServerOption{
		Logger(slog.New(slog.NewJSONHandler(&logs, nil))),
		OnHandlerPanic(func(ctx context.Context, method string, p any, stack []byte) error {
			hookMu.Lock()
			hookCalls = append(hookCalls, method)
			hookMu.Unlock()
			require.NotEmpty(t, stack)
			switch p {
			case "stream boom":
				return status.Errorf(codes.Unavailable, "try elsewhere")
			case "unary interceptor boom":
				return nil
			}
			return context.Canceled // not a status: INTERNAL
		}),
		ChainUnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
			if req.(*wrapperspb.StringValue).GetValue() == "interceptor-panic" {
				panic("unary interceptor boom")
			}
			return h(ctx, req)
		}),
		ChainStreamInterceptor(func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
			if info.FullMethod == "/test.Echo/Concat" {
				panic("stream interceptor boom")
			}
			return h(srv, ss)
		}),
	})
	ctx := ctxTimeout(t, 5*time.Second)

	_, err := e.echo(ctx, "interceptor-panic")
	require.Equal(t, codes.Internal, status.Code(err))
	require.Equal(t, "internal error", status.Convert(err).Message())

	// The stream interceptor panics before the handler runs.
	cs, err := e.cc.NewStream(ctx, &StreamDesc{ClientStreams: true}, "/test.Echo/Concat")
	require.NoError(t, err)
	require.NoError(t, cs.CloseSend())
	err = cs.RecvMsg(new(wrapperspb.StringValue))
	require.Equal(t, codes.Internal, status.Code(err))
	require.Equal(t, "internal error", status.Convert(err).Message())

	srv := NewServer(
		Logger(slog.New(slog.NewJSONHandler(&logs, nil))),
		OnHandlerPanic(func(ctx context.Context, method string, p any, stack []byte) error {
			return status.Errorf(codes.Unavailable, "try elsewhere")
		}))
	srv.RegisterService(&ServiceDesc{ServiceName: "test.Panicky", HandlerType: (*any)(nil), Streams: []StreamDesc{{
		StreamName: "Stream", ServerStreams: true,
		Handler: func(_ any, ss ServerStream) error {
			_ = ss.SendMsg(wrapperspb.String("first"))
			panic("stream boom")
		},
	}}}, struct{}{})
	l := NewInMemoryListener()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	cc, err := NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	cs, err = cc.NewStream(ctx, &StreamDesc{ServerStreams: true}, "/test.Panicky/Stream")
	require.NoError(t, err)
	// The handler never reads the request, so the call may be over before
	// it is sent: SendMsg then returns io.EOF (as grpc-go's does), and what
	// the server sent is still there to read.
	if err := cs.SendMsg(wrapperspb.String("go")); err != nil {
		require.ErrorIs(t, err, io.EOF)
	}
	require.NoError(t, cs.CloseSend())
	m := new(wrapperspb.StringValue)
	require.NoError(t, cs.RecvMsg(m), "what was sent before the panic arrives")
	require.Equal(t, "first", m.Value)
	err = cs.RecvMsg(m)
	require.Equal(t, codes.Unavailable, status.Code(err), "the hook's status")
	require.Equal(t, "try elsewhere", status.Convert(err).Message())

	recs := logs.records(t)
	require.Len(t, recs, 3)
	requirePanicRecord(t, recs[0], "/test.Echo/Echo", "unary interceptor boom", "TestStreamAndInterceptorPanics")
	requirePanicRecord(t, recs[1], "/test.Echo/Concat", "stream interceptor boom", "TestStreamAndInterceptorPanics")
	requirePanicRecord(t, recs[2], "/test.Panicky/Stream", "stream boom", "TestStreamAndInterceptorPanics")
	hookMu.Lock()
	require.Equal(t, []string{"/test.Echo/Echo", "/test.Echo/Concat"}, hookCalls)
	hookMu.Unlock()

	got, err := e.echo(ctx, "still alive")
	require.NoError(t, err)
	require.Equal(t, "still alive", got)
}
