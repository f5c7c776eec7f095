package rpc

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestUnaryResponseDoesNotWaitForALargeMessageToBeWritten's twin for the
// web protocols on our own engine: a gRPC-Web or Connect unary handler's
// large response is handed to h2 with its status, so the call ends on the
// server (its status reported, its goroutine free) before the client has
// read the response, which its 64 KiB window lets through only the first
// 64 KiB of; the response arrives whole and unchanged although its buffer
// went back to the pool. Each protocol's body is a different cut of that
// buffer: gRPC-Web's the envelope and the trailer envelope after it,
// Connect's the bare message. Compression is off: the Connect client asks
// for gzip, and the repetitive message would shrink below the size h2
// copies at once.
func TestWebUnaryResponseDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			ended := newEventSignal(EventOutTrailer)
			proceed := make(chan struct{})
			close(proceed)
			cc := largeEnv(t, nil, proceed, []ServerOption{StatsHandlerOption(ended), CompressMinBytes(1 << 30)},
				WithProtocol(p), WithInitialWindowSize(64<<10), WithInitialConnWindowSize(64<<10))
			ctx := ctxTimeout(t, 20*time.Second)
			cs, err := cc.NewStream(ctx, &StreamDesc{}, "/bench.Large/Echo")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.Bytes(largeMsg)))
			require.NoError(t, cs.CloseSend())
			select {
			case <-ended.on:
			case <-time.After(10 * time.Second):
				t.Fatal("the call's end waited for the client to read the response")
			}
			m := new(wrapperspb.BytesValue)
			require.NoError(t, cs.RecvMsg(m))
			require.True(t, bytes.Equal(largeMsg, m.Value), "the response arrived changed")
			require.Equal(t, io.EOF, cs.RecvMsg(m))
		})
	}
}

// The same for a unary request: a gRPC-Web or Connect call on the client's
// own sessions hands its large request to h2 and goes on (here to report
// it sent) while the server, whose 64 KiB window lets through only the
// first 64 KiB, has not read it yet; it arrives whole. Connect's body is
// the bare message, moved down over its envelope prefix in its buffer.
func TestWebUnaryRequestDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			sent := newEventSignal(EventOutPayload)
			proceed := make(chan struct{})
			cc := largeEnv(t, nil, proceed, []ServerOption{InitialWindowSize(64 << 10), InitialConnWindowSize(64 << 10),
				CompressMinBytes(1 << 30)}, WithProtocol(p), WithStatsHandler(sent))
			ctx := ctxTimeout(t, 20*time.Second)
			reply := new(wrapperspb.BytesValue)
			done := make(chan error, 1)
			go func() { done <- cc.Invoke(ctx, "/bench.Large/Echo", wrapperspb.Bytes(largeMsg), reply) }()
			select {
			case <-sent.on:
			case <-time.After(10 * time.Second):
				t.Fatal("Invoke waited for the server to read the request")
			}
			close(proceed)
			require.NoError(t, <-done)
			require.True(t, bytes.Equal(largeMsg, reply.Value), "the request or response arrived changed")
		})
	}
}
