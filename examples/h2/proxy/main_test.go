package main

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/stretchr/testify/require"
)

// echoTarget is a TCP server that sends back what it reads, prefixed, and
// closes its side once the client closed its own.
func echoTarget(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				_, _ = c.Write(append([]byte("target got: "), b...))
			}()
		}
	}()
	return l.Addr().String()
}

func startProxy(t *testing.T) *h2.Session {
	srv := &h2.Server{Handler: proxy{dialTimeout: 5 * time.Second}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(l) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, l.Addr().String(), nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Abort(h2.ErrCodeNo, nil)
		_ = srv.Close()
		<-served
	})
	return c
}

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestProxyPipesBytesToTheTarget(t *testing.T) {
	target := echoTarget(t)
	c := startProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Request(ctx, h2.Header{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: target}}, nil)
	require.NoError(t, err)
	h, err := st.Response(ctx)
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	_, err = st.End([]byte("Jane"), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "target got: Jane", string(b))
}

func TestProxyRefusesWhatIsNotConnect(t *testing.T) {
	c := startProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &h2.RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctx)
	var se *h2.StreamError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, h2.ErrCodeRefusedStream, se.Code)
}

func TestProxyUnreachableTarget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	c := startProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Request(ctx, h2.Header{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: closed}}, nil)
	require.NoError(t, err)
	_, err = st.Response(ctx)
	var se *h2.StreamError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, h2.ErrCodeConnect, se.Code)
}
