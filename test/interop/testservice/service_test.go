package testservice

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func client(t *testing.T) testpb.TestServiceClient {
	t.Helper()
	l := rpc.NewInMemoryListener()
	srv := rpc.NewServer()
	Register(srv)
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
	return testpb.NewTestServiceClient(cc)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func params(sizes ...int32) []*testpb.ResponseParameters {
	out := make([]*testpb.ResponseParameters, len(sizes))
	for i, s := range sizes {
		out[i] = &testpb.ResponseParameters{Size: s}
	}
	return out
}

func TestUnaryRejectsBadRequests(t *testing.T) {
	c := client(t)
	tests := []struct {
		name string
		req  *testpb.SimpleRequest
		code codes.Code
		msg  string
	}{
		{"unknown payload type", &testpb.SimpleRequest{ResponseType: 5}, codes.InvalidArgument, "unsupported response_type"},
		{"negative size", &testpb.SimpleRequest{ResponseSize: -1}, codes.InvalidArgument, "negative response size -1"},
		{"too large", &testpb.SimpleRequest{ResponseSize: MaxResponseSize + 1}, codes.InvalidArgument, "exceeds this server's limit"},
		{"echo status", &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: 9, Message: "m"}}, codes.FailedPrecondition, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.UnaryCall(ctxT(t), tt.req)
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.msg)
		})
	}
}

func TestEchoStatusZeroMeansOK(t *testing.T) {
	resp, err := client(t).UnaryCall(ctxT(t), &testpb.SimpleRequest{ResponseSize: 3, ResponseStatus: &testpb.EchoStatus{Message: "ignored"}})
	require.NoError(t, err)
	require.Len(t, resp.GetPayload().GetBody(), 3)
}

func TestStreamingOutputEchoesMetadataAndStatus(t *testing.T) {
	c := client(t)
	ctx := metadata.NewOutgoingContext(ctxT(t), metadata.Pairs(EchoInitialKey, "v", EchoTrailingKey, "\x00\x01"))
	stream, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params(1, 2)})
	require.NoError(t, err)
	hdr, err := stream.Header()
	require.NoError(t, err)
	require.Equal(t, []string{"v"}, hdr[EchoInitialKey])
	for _, n := range []int{1, 2} {
		resp, err := stream.Recv()
		require.NoError(t, err)
		require.Len(t, resp.GetPayload().GetBody(), n)
	}
	_, err = stream.Recv()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, []string{"\x00\x01"}, stream.Trailer()[EchoTrailingKey])

	stream, err = c.StreamingOutputCall(ctxT(t), &testpb.StreamingOutputCallRequest{
		ResponseParameters: params(1),
		ResponseStatus:     &testpb.EchoStatus{Code: int32(codes.Aborted), Message: "stop"},
	})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.Aborted, status.Code(err))
}

func TestIntervalsAccumulate(t *testing.T) {
	c := client(t)
	req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{
		{Size: 1, IntervalUs: 30000}, {Size: 1, IntervalUs: 30000},
	}}
	start := time.Now()
	stream, err := c.StreamingOutputCall(ctxT(t), req)
	require.NoError(t, err)
	_, err = stream.Recv()
	require.NoError(t, err)
	first := time.Since(start)
	_, err = stream.Recv()
	require.NoError(t, err)
	require.GreaterOrEqual(t, first, 30*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)

	stream, err = c.StreamingOutputCall(ctxT(t), &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{IntervalUs: -1}}})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestSleepEndsWithTheCall(t *testing.T) {
	c := client(t)
	// Connected first: the deadline is the sleeping call's alone (the
	// client's first call also waits for the connection, which a loaded
	// machine took longer than the deadline to make).
	_, err := c.EmptyCall(ctxT(t), &testpb.Empty{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	stream, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{IntervalUs: 60_000_000}}})
	if err == nil {
		_, err = stream.Recv()
	} else {
		// Only if the deadline passed before the stream could open.
		require.Error(t, ctx.Err(), "%v", err)
	}
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestStreamingInputSums(t *testing.T) {
	stream, err := client(t).StreamingInputCall(ctxT(t))
	require.NoError(t, err)
	for _, n := range []int{3, 0, 5} {
		require.NoError(t, stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}))
	}
	resp, err := stream.CloseAndRecv()
	require.NoError(t, err)
	require.EqualValues(t, 8, resp.GetAggregatedPayloadSize())
}

func TestFullDuplexStopsAtRequestedStatus(t *testing.T) {
	stream, err := client(t).FullDuplexCall(ctxT(t))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: params(4)}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.Len(t, resp.GetPayload().GetBody(), 4)
	require.NoError(t, stream.Send(&testpb.StreamingOutputCallRequest{
		ResponseParameters: params(4),
		ResponseStatus:     &testpb.EchoStatus{Code: int32(codes.DataLoss), Message: "bye"},
	}))
	_, err = stream.Recv()
	require.Equal(t, codes.DataLoss, status.Code(err))
	require.Equal(t, "bye", status.Convert(err).Message())
}

func TestHalfDuplexAnswersAfterHalfClose(t *testing.T) {
	stream, err := client(t).HalfDuplexCall(ctxT(t))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: params(1, 2)}))
	require.NoError(t, stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: params(3)}))

	// Nothing may arrive before the half-close.
	got := make(chan error, 1)
	go func() {
		_, err := stream.Header()
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("header before half-close (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, stream.CloseSend())
	for _, n := range []int{1, 2, 3} {
		resp, err := stream.Recv()
		require.NoError(t, err)
		require.Len(t, resp.GetPayload().GetBody(), n)
	}
	_, err = stream.Recv()
	require.True(t, errors.Is(err, io.EOF), "%v", err)
}

func TestHalfDuplexBoundsHeldResponses(t *testing.T) {
	stream, err := client(t).HalfDuplexCall(ctxT(t))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, MaxHalfDuplexResponses+1)}))
	_, err = stream.Recv()
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
}

func TestCacheableUnaryCall(t *testing.T) {
	c := client(t)
	var hdr metadata.MD
	a, err := c.CacheableUnaryCall(ctxT(t), &testpb.SimpleRequest{}, rpc.Header(&hdr))
	require.NoError(t, err)
	require.Equal(t, []string{"max-age=60, public"}, hdr["cache-control"])
	time.Sleep(time.Microsecond)
	b, err := c.CacheableUnaryCall(ctxT(t), &testpb.SimpleRequest{})
	require.NoError(t, err)
	require.NotEqual(t, a.GetPayload().GetBody(), b.GetPayload().GetBody())
}

func TestUnimplementedCallStaysUnimplemented(t *testing.T) {
	_, err := client(t).UnimplementedCall(ctxT(t), &testpb.Empty{})
	require.Equal(t, codes.Unimplemented, status.Code(err))
}
