package logging_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/logging"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func serverOpts(opts ...logging.Option) []rpc.ServerOption {
	return []rpc.ServerOption{
		rpc.UnaryInterceptor(logging.UnaryServerInterceptor(opts...)),
		rpc.StreamInterceptor(logging.StreamServerInterceptor(opts...)),
	}
}

func TestServerUnaryRecord(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, serverOpts(logging.WithLogger(logger)))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("hello")})
	require.NoError(t, err)

	recs := buf.Records()
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, "INFO", r["level"])
	require.Equal(t, "rpc finished", r["msg"])
	require.Equal(t, "grpc", r[logging.KeySystem])
	require.Equal(t, "grpc.testing.TestService", r[logging.KeyService])
	require.Equal(t, "UnaryCall", r[logging.KeyMethod])
	require.Equal(t, "OK", r[logging.KeyCode])
	require.Equal(t, "server", r[logging.KeyKind])
	require.Greater(t, r[logging.KeyDuration].(float64), 0.0)
	// payload{body:"hello"} is 7 bytes; the request wraps it in 2 more.
	require.Equal(t, 9.0, r[logging.KeyRecvBytes])
	require.Equal(t, 9.0, r[logging.KeySentBytes])
	require.Equal(t, 1.0, r[logging.KeyRecvMsgs])
	require.Equal(t, "pipe", r[logging.KeyPeer], "the caller's address (an in-memory pipe here), from rpc.PeerFromContext")
	require.NotContains(t, r, logging.KeyError)
}

func TestServerErrorLevelsAndMessage(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, serverOpts(logging.WithLogger(logger)))
	ctx := context.Background()
	for _, code := range []codes.Code{codes.NotFound, codes.Unavailable, codes.Internal} {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(code), Message: "m-" + code.String()}})
		require.Equal(t, code, status.Code(err))
	}
	recs := buf.Records()
	require.Len(t, recs, 3)
	require.Equal(t, []any{"INFO", "WARN", "ERROR"}, []any{recs[0]["level"], recs[1]["level"], recs[2]["level"]})
	require.Equal(t, "NotFound", recs[0][logging.KeyCode])
	require.Equal(t, "m-NotFound", recs[0][logging.KeyError])
	require.Equal(t, 0.0, recs[0][logging.KeySentMsgs], "a failed call sent no response")
}

func TestWithMessage(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, serverOpts(logging.WithLogger(logger), logging.WithMessage("call done")))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.NoError(t, err)
	recs := buf.Records()
	require.Len(t, recs, 1)
	require.Equal(t, "call done", recs[0]["msg"])
}

func TestServerPeerAndLevelFilter(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelWarn)
	peer := func(ctx context.Context) string { return metadata.ValueFromIncomingContext(ctx, "x-forwarded-for")[0] }
	c := testsrv.Start(t, &testsrv.Service{}, serverOpts(logging.WithLogger(logger), logging.WithPeer(peer)))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", "10.1.2.3")
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.Empty(t, buf.Records(), "OK is Info, below the logger's Warn")
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.DataLoss)}})
	require.Error(t, err)
	recs := buf.Records()
	require.Len(t, recs, 1)
	require.Equal(t, "10.1.2.3", recs[0][logging.KeyPeer])
}

func TestServerStreamCounts(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, serverOpts(logging.WithLogger(logger), logging.WithLevels(func(codes.Code) slog.Level { return slog.LevelDebug })))
	st, err := c.FullDuplexCall(context.Background())
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("abc")}))
		_, err := st.Recv()
		require.NoError(t, err)
	}
	require.NoError(t, st.CloseSend())
	_, err = st.Recv()
	require.ErrorIs(t, err, io.EOF)
	require.Eventually(t, func() bool { return len(buf.Records()) == 1 }, timeout, tick)
	r := buf.Records()[0]
	require.Equal(t, "DEBUG", r["level"])
	require.Equal(t, "FullDuplexCall", r[logging.KeyMethod])
	require.Equal(t, 3.0, r[logging.KeyRecvMsgs])
	require.Equal(t, 3.0, r[logging.KeySentMsgs])
	require.Equal(t, 21.0, r[logging.KeyRecvBytes]) // 3 × (payload 5 + tag and length 2)
	require.Equal(t, 21.0, r[logging.KeySentBytes])
}

func TestClientRecords(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, nil,
		rpc.WithUnaryInterceptor(logging.UnaryClientInterceptor(logging.WithLogger(logger))),
		rpc.WithStreamInterceptor(logging.StreamClientInterceptor(logging.WithLogger(logger))))
	ctx := context.Background()
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Aborted), Message: "x"}})
	require.Equal(t, codes.Aborted, status.Code(err))

	st, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("a")}))
	_, err = st.Recv()
	require.NoError(t, err)
	require.Len(t, buf.Records(), 1, "the stream is logged when it ends, not before")
	require.NoError(t, st.CloseSend())
	_, err = st.Recv()
	require.True(t, errors.Is(err, io.EOF))

	recs := buf.Records()
	require.Len(t, recs, 2)
	require.Equal(t, "client", recs[0][logging.KeyKind])
	require.Equal(t, "Aborted", recs[0][logging.KeyCode])
	require.Equal(t, "inmem", recs[0][logging.KeyPeer], "the client's peer is its target")
	require.Equal(t, "OK", recs[1][logging.KeyCode])
	require.Equal(t, 1.0, recs[1][logging.KeySentMsgs])
	require.Equal(t, 1.0, recs[1][logging.KeyRecvMsgs])
}

func TestClientStreamOpenFailureIsLogged(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, nil,
		rpc.WithStreamInterceptor(logging.StreamClientInterceptor(logging.WithLogger(logger))))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, err := c.FullDuplexCall(ctx)
	if err == nil {
		// The runtime may open streams lazily; the failure then shows on Recv.
		_, err = st.Recv()
	}
	require.Equal(t, codes.Canceled, status.Code(err))
	recs := buf.Records()
	require.Len(t, recs, 1)
	require.Equal(t, "Canceled", recs[0][logging.KeyCode])
}

const (
	timeout = 5e9
	tick    = 1e7
)

func TestHandlerContextErrorLoggedAsTheClientSeesIt(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	svc := &testsrv.Service{Unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, context.DeadlineExceeded
	}}
	c := testsrv.Start(t, svc, serverOpts(logging.WithLogger(logger)))
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	recs := buf.Records()
	require.Len(t, recs, 1)
	require.Equal(t, "DeadlineExceeded", recs[0][logging.KeyCode])
	require.Equal(t, "WARN", recs[0]["level"])
}

func TestClientStreamAbandonedIsLoggedOnCancel(t *testing.T) {
	logger, buf := testsrv.NewLogger(slog.LevelDebug)
	c := testsrv.Start(t, &testsrv.Service{}, nil,
		rpc.WithStreamInterceptor(logging.StreamClientInterceptor(logging.WithLogger(logger))))
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("a")}))
	_, err = st.Recv()
	require.NoError(t, err)
	require.Empty(t, buf.Records())
	cancel() // the application walks away without reading to the end
	require.Eventually(t, func() bool { return len(buf.Records()) == 1 }, timeout, tick)
	r := buf.Records()[0]
	require.Equal(t, "Canceled", r[logging.KeyCode])
	require.Equal(t, 1.0, r[logging.KeyRecvMsgs])
	_, err = st.Recv()
	require.Error(t, err)
	require.Len(t, buf.Records(), 1, "still one record per call")
}
