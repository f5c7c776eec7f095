package rpc

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func bothTransports(t *testing.T, f func(t *testing.T, tcp bool)) {
	t.Run("inmem", func(t *testing.T) { f(t, false) })
	t.Run("tcp", func(t *testing.T) { f(t, true) })
}

func TestUnary(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		got, err := e.echo(ctxTimeout(t, 5*time.Second), "hello")
		require.NoError(t, err)
		require.Equal(t, "hello", got)
		got, err = e.echo(ctxTimeout(t, 5*time.Second), "")
		require.NoError(t, err)
		require.Equal(t, "", got)
	})
}

func TestServerStreaming(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		ctx := ctxTimeout(t, 5*time.Second)
		cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
		require.NoError(t, err)
		s := &GenericClientStream[wrapperspb.Int32Value, wrapperspb.StringValue]{ClientStream: cs}
		require.NoError(t, s.SendMsg(wrapperspb.Int32(100)))
		require.NoError(t, s.CloseSend())
		for i := 0; i < 100; i++ {
			m, err := s.Recv()
			require.NoError(t, err)
			require.Equal(t, strconv.Itoa(i), m.Value)
		}
		_, err = s.Recv()
		require.Equal(t, io.EOF, err)
	})
}

func TestClientStreaming(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[1], "/test.Echo/Concat")
		require.NoError(t, err)
		s := &GenericClientStream[wrapperspb.StringValue, wrapperspb.StringValue]{ClientStream: cs}
		for _, p := range []string{"a", "b", "c"} {
			require.NoError(t, s.Send(wrapperspb.String(p)))
		}
		m, err := s.CloseAndRecv()
		require.NoError(t, err)
		require.Equal(t, "abc", m.Value)
	})
}

func TestBidiStreaming(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[2], "/test.Echo/Chat")
		require.NoError(t, err)
		s := &GenericClientStream[wrapperspb.StringValue, wrapperspb.StringValue]{ClientStream: cs}
		for _, p := range []string{"x", "y"} {
			require.NoError(t, s.Send(wrapperspb.String(p)))
			m, err := s.Recv()
			require.NoError(t, err)
			require.Equal(t, "echo:"+p, m.Value)
		}
		require.NoError(t, s.CloseSend())
		_, err = s.Recv()
		require.Equal(t, io.EOF, err)
	})
}

func TestStatusErrors(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	ctx := ctxTimeout(t, 5*time.Second)
	_, err := e.echo(ctx, "error:5:not here ☺ 100%")
	require.Equal(t, codes.NotFound, status.Code(err))
	st, _ := status.FromError(err)
	require.Equal(t, "not here ☺ 100%", st.Message())

	_, err = e.echo(ctx, "panic")
	require.Equal(t, codes.Internal, status.Code(err))
	got, err := e.echo(ctx, "still alive")
	require.NoError(t, err, "the server must survive a panicking handler")
	require.Equal(t, "still alive", got)

	err = e.cc.Invoke(ctx, "/test.Echo/Nope", wrapperspb.String(""), new(wrapperspb.StringValue))
	require.Equal(t, codes.Unimplemented, status.Code(err))
	require.Contains(t, err.Error(), "unknown method")
	err = e.cc.Invoke(ctx, "/no.Such/Method", wrapperspb.String(""), new(wrapperspb.StringValue))
	require.Equal(t, codes.Unimplemented, status.Code(err))
	require.Contains(t, err.Error(), "unknown service no.Such")
}
