package testcases

import (
	"context"
	"errors"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
	"github.com/stretchr/testify/require"
)

// serve runs register's services on an in-memory server and returns a client
// connection to it; both end with the test.
func serve(t *testing.T, register func(*rpc.Server)) *rpc.ClientConn {
	t.Helper()
	l := rpc.NewInMemoryListener()
	srv := rpc.NewServer()
	register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		<-done
	})
	return cc
}

func TestAllCasesPassAgainstTestService(t *testing.T) {
	cc := serve(t, func(s *rpc.Server) { testservice.Register(s) })
	for _, c := range All {
		t.Run(c.Name, func(t *testing.T) {
			require.NoError(t, Run(context.Background(), cc, c, 10*time.Second))
		})
	}
}

func TestSelect(t *testing.T) {
	all, err := Select("all")
	require.NoError(t, err)
	require.Len(t, all, 14)

	two, err := Select("large_unary, ping_pong")
	require.NoError(t, err)
	require.Equal(t, "large_unary", two[0].Name)
	require.Equal(t, "ping_pong", two[1].Name)

	_, err = Select("large_unary,no_such_case")
	require.ErrorContains(t, err, `unknown test case "no_such_case"`)
	require.ErrorContains(t, err, "empty_unary")
}

func TestCheckCode(t *testing.T) {
	msg := "m"
	require.NoError(t, checkCode("x", status.Error(codes.Unknown, "m"), codes.Unknown, &msg))
	require.ErrorContains(t, checkCode("x", nil, codes.Unknown, nil), "call succeeded")
	require.ErrorContains(t, checkCode("x", errors.New("plain"), codes.Unknown, nil), "is not a status")
	require.ErrorContains(t, checkCode("x", status.Error(codes.Internal, "m"), codes.Unknown, nil), "want Unknown")
	require.ErrorContains(t, checkCode("x", status.Error(codes.Unknown, "other"), codes.Unknown, &msg), `status message "other"`)
}

func TestCheckPayload(t *testing.T) {
	require.NoError(t, checkPayload("x", zeros(3), 3))
	require.ErrorContains(t, checkPayload("x", zeros(3), 4), "payload is 3 bytes, want 4")
	require.ErrorContains(t, checkPayload("x", &testpb.Payload{Body: []byte{0, 7}}, 2), "payload byte 1 is 0x7")
}

func TestTimeLimitEndsAHungCase(t *testing.T) {
	hang := Case{Name: "hang", Run: func(ctx context.Context, _ rpc.ClientConnInterface) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	start := time.Now()
	err := Run(context.Background(), nil, hang, 50*time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
}
