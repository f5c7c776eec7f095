package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/h2rpc/h2rpc/h2"
)

type goAway struct {
	code   h2.ErrCode
	lastID uint32
}

// TestServerInitiated runs the routes node_server_side.mjs uses with our own
// client, so a broken route shows up in go test and not only in run.sh.
func TestServerInitiated(t *testing.T) {
	shutdown := make(chan error, 1)
	srv := newServer(shutdown)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	var mu sync.Mutex
	var pings [][8]byte
	var goaways []goAway
	opts := &h2.ClientOptions{}
	opts.Hooks.OnPing = func(_ *h2.Session, p [8]byte) { mu.Lock(); pings = append(pings, p); mu.Unlock() }
	opts.Hooks.OnGoAway = func(_ *h2.Session, c h2.ErrCode, id uint32, _ []byte) {
		mu.Lock()
		goaways = append(goaways, goAway{c, id})
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := h2.Dial(ctx, ln.Addr().String(), opts)
	require.NoError(t, err)

	get := func(path string) h2.Header {
		st, err := sess.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: path}}, &h2.RequestOptions{EndStream: true})
		require.NoError(t, err)
		resp, err := st.Response(ctx)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, st)
		require.NoError(t, err)
		require.Equal(t, "200", resp.Get(":status"), "%s: %v", path, resp)
		return resp
	}

	resp := get("/ping-me")
	rtt, err := strconv.ParseInt(resp.Get("x-ping-rtt-ns"), 10, 64)
	require.NoError(t, err)
	require.Positive(t, rtt)
	mu.Lock()
	require.Equal(t, [][8]byte{{'s', 'r', 'v', 'p', 'i', 'n', 'g', '!'}}, pings)
	mu.Unlock()

	require.Equal(t, "50", get("/update-settings").Get("x-max-streams"))
	require.Equal(t, uint32(50), sess.RemoteSettings().MaxConcurrentStreams)

	// A stream in flight across the Shutdown.
	echo, err := sess.Request(ctx, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}}, nil)
	require.NoError(t, err)
	body := bytes.Repeat([]byte("0123456789"), 20_000)
	_, err = echo.Write(body[:100_000])
	require.NoError(t, err)
	get("/shutdown")
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(goaways) == 2 }, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	require.Equal(t, []goAway{{h2.ErrCodeNo, 1<<31 - 1}, {h2.ErrCodeNo, echo.ID() + 2}}, goaways)
	mu.Unlock()
	require.False(t, sess.CanRequest())

	go func() {
		if _, err := echo.Write(body[100_000:]); err == nil {
			_ = echo.CloseWrite()
		}
	}()
	got, err := io.ReadAll(echo)
	require.NoError(t, err)
	require.Equal(t, body, got)
	require.Equal(t, strconv.Itoa(len(body)), echo.Trailers().Get("x-echo-bytes"))

	select {
	case err := <-shutdown:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	select {
	case <-sess.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client session still open after the server's Shutdown")
	}
	require.ErrorIs(t, <-served, h2.ErrServerClosed)
}
