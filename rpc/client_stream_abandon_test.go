package rpc

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// abandonDesc streams eight 64 KiB messages for any request: a response
// that fits the client's stream window whole.
var abandonDesc = ServiceDesc{
	ServiceName: "test.Abandon",
	Streams: []StreamDesc{{StreamName: "Eight", ServerStreams: true, Handler: func(_ any, stream ServerStream) error {
		if err := stream.RecvMsg(new(wrapperspb.Int32Value)); err != nil {
			return err
		}
		for range 8 {
			if err := stream.SendMsg(wrapperspb.Bytes(make([]byte, 64<<10))); err != nil {
				return err
			}
		}
		return nil
	}}},
}

// TestAbandonedServerStreamGivesBackItsUnreadResponse: a call that stops
// reading once its whole response has arrived, and ends (here by canceling
// its context), gives the unread bytes back to the connection window. They
// used to stay out of it: with 1 MiB windows, the third abandoned call of
// 512 KiB left the connection unable to receive another response.
func TestAbandonedServerStreamGivesBackItsUnreadResponse(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&abandonDesc, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	cc, err := NewClient(l.Addr().String(), WithInsecure(), WithInitialWindowSize(1<<20), WithInitialConnWindowSize(1<<20))
	require.NoError(t, err)
	defer cc.Close()
	desc := &abandonDesc.Streams[0]
	for call := range 6 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cs, err := cc.NewStream(ctx, desc, "/test.Abandon/Eight")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.Int32(1)))
		require.NoError(t, cs.CloseSend())
		require.NoError(t, cs.RecvMsg(new(wrapperspb.BytesValue)), "call %d: the first message", call)
		st := cs.(*clientStream).stream()
		for !st.InboundEnded() && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		require.NoError(t, ctx.Err(), "call %d: the rest of the response never came", call)
		cancel()
		require.Error(t, cs.RecvMsg(new(wrapperspb.BytesValue)), "call %d: canceled", call)
	}
}
