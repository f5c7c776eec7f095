package rawh2

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"
)

func serve(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := rpc.NewServer()
	testservice.Register(srv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

func TestHandshakeAndCallReachTheServer(t *testing.T) {
	addr := serve(t)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, Handshake(c, 1<<20, 5*time.Second))
	req, err := proto.Marshal(&testpb.SimpleRequest{ResponseSize: 100000})
	require.NoError(t, err)
	require.NoError(t, WriteCall(c, 1, addr, testpb.TestService_UnaryCall_FullMethodName, req))

	// The window announced lets the whole response through without a
	// WINDOW_UPDATE; the call ends with grpc-status 0.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	fr := http2.NewFramer(nil, c)
	dec := hpack.NewDecoder(4096, nil)
	data, status := 0, ""
	for status == "" {
		f, err := fr.ReadFrame()
		require.NoError(t, err)
		switch f := f.(type) {
		case *http2.DataFrame:
			data += len(f.Data())
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			require.NoError(t, err)
			for _, hf := range fields {
				if hf.Name == "grpc-status" {
					status = hf.Value
				}
			}
		}
	}
	require.Equal(t, "0", status)
	require.Greater(t, data, 100000)
}

func TestHandshakeWithoutSettings(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = io.CopyN(io.Discard, c, int64(len(preface)+9+6)) // preface and SETTINGS, so that the close is a FIN
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	err = Handshake(c, 65535, 5*time.Second)
	require.True(t, errors.Is(err, ErrNoSettings), "got %v", err)
}
