package rpc

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// largeMsg is a message larger than the 64 KiB windows of these tests, with
// bytes that tell a changed buffer.
var largeMsg = bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB

// largeEnv serves bench.Large: Down sends largeMsg and reports that SendMsg
// returned on sent; Up waits for proceed before it reads the request
// stream, then answers with the bytes it read; the unary Echo waits for
// proceed too before it reads its request, and answers with it.
func largeEnv(t *testing.T, sent, proceed chan struct{}, sopts []ServerOption, copts ...DialOption) *ClientConn {
	srv := NewServer(sopts...)
	echo := func(_ any, _ context.Context, dec func(any) error, _ UnaryServerInterceptor) (any, error) {
		<-proceed
		m := new(wrapperspb.BytesValue)
		if err := dec(m); err != nil {
			return nil, err
		}
		return m, nil
	}
	srv.RegisterService(&ServiceDesc{ServiceName: "bench.Large", HandlerType: (*any)(nil), Methods: []MethodDesc{
		{MethodName: "Echo", Handler: echo},
	}, Streams: []StreamDesc{
		{StreamName: "Down", ServerStreams: true, Handler: func(_ any, ss ServerStream) error {
			if err := ss.RecvMsg(new(wrapperspb.Int64Value)); err != nil {
				return err
			}
			if err := ss.SendMsg(wrapperspb.Bytes(largeMsg)); err != nil {
				return err
			}
			close(sent)
			return nil
		}},
		{StreamName: "Up", ClientStreams: true, Handler: func(_ any, ss ServerStream) error {
			<-proceed
			var n int64
			for {
				m := new(wrapperspb.BytesValue)
				if err := ss.RecvMsg(m); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				if !bytes.Equal(largeMsg, m.Value) {
					n = -1 << 40 // a message arrived changed
				}
				n += int64(len(m.Value))
			}
			return ss.SendMsg(wrapperspb.Int64(n))
		}},
	}}, struct{}{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	cc, err := NewClient(l.Addr().String(), append([]DialOption{WithInsecure()}, copts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		cc.Close()
		srv.Stop()
	})
	return cc
}

// A server's SendMsg of a large message returns once the message is queued,
// before the client has read it (its 64 KiB window lets through only the
// first of 16), so that a handler builds its next message while this one goes
// out; the message arrives whole and unchanged although its buffer went back
// to the pool.
func TestServerSendMsgDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	checkNoLeaks(t)
	sent := make(chan struct{})
	cc := largeEnv(t, sent, nil, nil, WithInitialWindowSize(64<<10), WithInitialConnWindowSize(64<<10))
	ctx := ctxTimeout(t, 20*time.Second)
	cs, err := cc.NewStream(ctx, &StreamDesc{ServerStreams: true}, "/bench.Large/Down")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.Int64(1)))
	require.NoError(t, cs.CloseSend())
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's SendMsg waited for the client to read the message")
	}
	m := new(wrapperspb.BytesValue)
	require.NoError(t, cs.RecvMsg(m))
	require.True(t, bytes.Equal(largeMsg, m.Value), "the message arrived changed")
	require.Equal(t, io.EOF, cs.RecvMsg(m))
}

// The same on the client: SendMsg of large messages returns before the
// server reads them, and they arrive unchanged.
func TestClientSendMsgDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	checkNoLeaks(t)
	proceed := make(chan struct{})
	cc := largeEnv(t, nil, proceed, []ServerOption{InitialWindowSize(64 << 10), InitialConnWindowSize(64 << 10)})
	ctx := ctxTimeout(t, 20*time.Second)
	cs, err := cc.NewStream(ctx, &StreamDesc{ClientStreams: true}, "/bench.Large/Up")
	require.NoError(t, err)
	sendDone := make(chan error, 1)
	go func() { sendDone <- cs.SendMsg(wrapperspb.Bytes(largeMsg)) }()
	select {
	case err := <-sendDone:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("SendMsg waited for the server to read the message")
	}
	close(proceed)
	for range 2 {
		require.NoError(t, cs.SendMsg(wrapperspb.Bytes(largeMsg)))
	}
	require.NoError(t, cs.CloseSend())
	got := new(wrapperspb.Int64Value)
	require.NoError(t, cs.RecvMsg(got))
	require.Equal(t, int64(3*len(largeMsg)), got.Value)
}

// eventSignal is a stats handler that closes on when the first event of
// kind is reported.
type eventSignal struct {
	kind EventKind
	on   chan struct{}
	once sync.Once
}

func newEventSignal(kind EventKind) *eventSignal {
	return &eventSignal{kind: kind, on: make(chan struct{})}
}

func (e *eventSignal) TagRPC(ctx context.Context, _ string) context.Context { return ctx }
func (e *eventSignal) HandleRPC(context.Context, *RPCStats)                 {}
func (e *eventSignal) HandleRPCEvent(_ context.Context, ev RPCEvent) {
	if ev.Kind == e.kind {
		e.once.Do(func() { close(e.on) })
	}
}

// A unary handler's large response is handed to h2 with the status: the call
// ends on the server (its status reported, its goroutine free) before the
// client has read the response, which its 64 KiB window lets through only
// the first 64 KiB of; the response arrives whole and unchanged although
// its buffer went back to the pool.
func TestUnaryResponseDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	checkLargeResponseDoesNotWait(t, nil)
}

// checkLargeResponseDoesNotWait is the check of
// TestUnaryResponseDoesNotWaitForALargeMessageToBeWritten, with more server
// options and the client's (a protocol).
func checkLargeResponseDoesNotWait(t *testing.T, sopts []ServerOption, copts ...DialOption) {
	checkNoLeaks(t)
	ended := newEventSignal(EventOutTrailer)
	proceed := make(chan struct{})
	close(proceed)
	cc := largeEnv(t, nil, proceed, append([]ServerOption{StatsHandlerOption(ended)}, sopts...),
		append([]DialOption{WithInitialWindowSize(64 << 10), WithInitialConnWindowSize(64 << 10)}, copts...)...)
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
}

// The same for a unary request: Invoke hands its large request to h2 and
// goes on (here to report it sent) while the server, whose 64 KiB window
// lets through only the first 64 KiB, has not read it yet; it arrives whole.
func TestUnaryRequestDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	checkLargeRequestDoesNotWait(t, nil)
}

// checkLargeRequestDoesNotWait is the check of
// TestUnaryRequestDoesNotWaitForALargeMessageToBeWritten, with more server
// options and the client's (a protocol).
func checkLargeRequestDoesNotWait(t *testing.T, sopts []ServerOption, copts ...DialOption) {
	checkNoLeaks(t)
	sent := newEventSignal(EventOutPayload)
	proceed := make(chan struct{})
	cc := largeEnv(t, nil, proceed, append([]ServerOption{InitialWindowSize(64 << 10), InitialConnWindowSize(64 << 10)}, sopts...),
		append([]DialOption{WithStatsHandler(sent)}, copts...)...)
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
}
