package retry

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// flakyStream's StreamingOutputCall fails its first `fail` calls with
// UNAVAILABLE, before any response or (with late) after the first one;
// otherwise it sends one response per response_parameters entry.
type flakyStream struct {
	testsrv.Service
	fail  int32
	late  bool
	calls atomic.Int32
}

func (f *flakyStream) StreamingOutputCall(in *testpb.StreamingOutputCallRequest, st rpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	n := f.calls.Add(1)
	st.SetTrailer(metadata.Pairs("attempt", strconv.Itoa(int(n))))
	if n <= f.fail && !f.late {
		return status.Errorf(codes.Unavailable, "down %d", n)
	}
	for i := range in.GetResponseParameters() {
		if err := st.Send(&testpb.StreamingOutputCallResponse{Payload: in.GetPayload()}); err != nil {
			return err
		}
		if i == 0 && n <= f.fail {
			return status.Errorf(codes.Unavailable, "down after a response %d", n)
		}
	}
	return nil
}

func startStream(t *testing.T, svc testpb.TestServiceServer, o Options) (testpb.TestServiceClient, *[]time.Duration) {
	t.Helper()
	r, err := newRetrier(o)
	require.NoError(t, err)
	r.rand = func() float64 { return 0.5 }
	delays := &[]time.Duration{}
	r.sleep = func(_ context.Context, d time.Duration) error {
		*delays = append(*delays, d)
		return nil
	}
	return testsrv.Start(t, svc, nil, rpc.WithStreamInterceptor(r.interceptStream)), delays
}

func twoResponses(body string) *testpb.StreamingOutputCallRequest {
	return &testpb.StreamingOutputCallRequest{Payload: testsrv.Body(body), ResponseParameters: []*testpb.ResponseParameters{{}, {}}}
}

func drain(st rpc.ServerStreamingClient[testpb.StreamingOutputCallResponse]) ([]string, error) {
	var got []string
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(r.GetPayload().GetBody()))
	}
}

func TestStreamRetriedBeforeFirstResponse(t *testing.T) {
	svc := &flakyStream{fail: 2}
	c, delays := startStream(t, svc, Options{})
	st, err := c.StreamingOutputCall(idem(), twoResponses("x"))
	require.NoError(t, err)
	got, err := drain(st)
	require.NoError(t, err)
	require.Equal(t, []string{"x", "x"}, got, "the request was replayed on the new attempt")
	require.Equal(t, int32(3), svc.calls.Load())
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, *delays)
}

func TestStreamNotRetriedAfterAResponse(t *testing.T) {
	svc := &flakyStream{fail: 1, late: true}
	c, _ := startStream(t, svc, Options{})
	st, err := c.StreamingOutputCall(idem(), twoResponses("y"))
	require.NoError(t, err)
	got, err := drain(st)
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, []string{"y"}, got)
	require.Equal(t, int32(1), svc.calls.Load())
}

func TestStreamGivesUpAndNeedsIdempotency(t *testing.T) {
	svc := &flakyStream{fail: 100}
	c, _ := startStream(t, svc, Options{MaxAttempts: 2})
	st, err := c.StreamingOutputCall(idem(), twoResponses("z"))
	require.NoError(t, err)
	_, err = drain(st)
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, "down 2", status.Convert(err).Message())

	svc = &flakyStream{fail: 1}
	c, _ = startStream(t, svc, Options{})
	st, err = c.StreamingOutputCall(context.Background(), twoResponses("z"))
	require.NoError(t, err)
	_, err = drain(st)
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, int32(1), svc.calls.Load(), "not idempotent: not retried")
}

func TestBidiPassesThrough(t *testing.T) {
	c, delays := startStream(t, &testsrv.Service{}, Options{})
	st, err := c.FullDuplexCall(idem())
	require.NoError(t, err)
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Unavailable)}}))
	_, err = st.Recv()
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Empty(t, *delays, "client-streaming calls are not retried")
}

func TestStreamHeaderAndTrailerFollowTheAttempt(t *testing.T) {
	svc := &flakyStream{fail: 1}
	c, _ := startStream(t, svc, Options{})
	st, err := c.StreamingOutputCall(idem(), twoResponses("h"))
	require.NoError(t, err)
	_, err = drain(st)
	require.NoError(t, err)
	_, err = st.Header()
	require.NoError(t, err)
	require.NoError(t, st.Context().Err())
	require.Equal(t, []string{"2"}, st.Trailer()["attempt"], "the trailer of the attempt that succeeded")
}

func TestStreamInterceptorBadOptions(t *testing.T) {
	_, err := StreamClientInterceptor(Options{MaxAttempts: -2})
	require.Error(t, err)
	i, err := StreamClientInterceptor(Options{})
	require.NoError(t, err)
	require.NotNil(t, i)
}
