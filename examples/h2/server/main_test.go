package main

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// dial serves the example's routes on loopback and returns a client session.
func dial(t *testing.T) *h2.Session {
	srv := &h2.Server{Handler: h2.HandlerFunc(route)}
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

func get(ctx context.Context, c *h2.Session, method string) (h2.Header, string, error) {
	st, err := c.Request(ctx, h2.Header{{Name: ":method", Value: method}, {Name: ":path", Value: "/"}}, &h2.RequestOptions{EndStream: true})
	if err != nil {
		return nil, "", err
	}
	h, err := st.Response(ctx)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(st)
	return h, string(b), err
}

// "/" answers from one shared header list, headers and body in one step:
// many concurrent requests (the race detector watching) all get the whole
// response, and the shared list is never modified.
func TestRootSharesItsResponseHeader(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := h2.Header{
		{Name: ":status", Value: "200"},
		{Name: "content-type", Value: "text/plain; charset=utf-8"},
		{Name: "content-length", Value: "34"},
	}
	var wg sync.WaitGroup
	for i := range 64 {
		method := "GET"
		if i%4 == 0 {
			method = "HEAD"
		}
		wg.Go(func() {
			h, body, err := get(ctx, c, method)
			if !assertNoError(t, err) {
				return
			}
			for _, f := range want {
				if h.Get(f.Name) != f.Value {
					t.Errorf("%s /: %s is %q, want %q", method, f.Name, h.Get(f.Name), f.Value)
				}
			}
			if wantBody := map[string]string{"GET": string(hello), "HEAD": ""}[method]; body != wantBody {
				t.Errorf("%s /: body %q, want %q", method, body, wantBody)
			}
		})
	}
	wg.Wait()
	require.Equal(t, want, rootHeader, "the shared list is as it was built")
}

func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

func TestEchoReturnsTheBodyAndCountsIt(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Request(ctx, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}, {Name: "content-type", Value: "text/plain"}}, nil)
	require.NoError(t, err)
	_, err = st.End([]byte("ping pong"), nil)
	require.NoError(t, err)
	h, err := st.Response(ctx)
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	require.Equal(t, "text/plain", h.Get("content-type"))
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "ping pong", string(b))
	require.Equal(t, "9", st.Trailers().Get("x-echo-bytes"))
}
