package rpc

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// failAfterFirst ends the call with FAILED_PRECONDITION once it has one
// message, whatever the client still sends.
func failAfterFirst(_ any, stream ServerStream) error {
	if err := stream.RecvMsg(new(wrapperspb.StringValue)); err != nil {
		return err
	}
	return status.Error(codes.FailedPrecondition, "no more")
}

var failDesc = ServiceDesc{
	ServiceName: "test.Fail",
	HandlerType: (*any)(nil),
	Streams: []StreamDesc{
		{StreamName: "Upload", Handler: failAfterFirst, ClientStreams: true},
		{StreamName: "Bidi", Handler: failAfterFirst, ServerStreams: true, ClientStreams: true},
	},
}

// Once the server has ended a call, SendMsg returns io.EOF (as in grpc-go)
// and the status comes from RecvMsg / CloseAndRecv; before, every Send
// "succeeded" while the server dropped the bytes.
func TestSendAfterCallEndedReturnsEOF(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&failDesc, struct{}{})
	l := NewInMemoryListener()
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	cc, err := NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial))
	require.NoError(t, err)
	defer cc.Close()
	e := &env{cc: cc}
	ctx := ctxTimeout(t, 10*time.Second)

	t.Run("bidi", func(t *testing.T) {
		cs, err := e.cc.NewStream(ctx, &failDesc.Streams[1], "/test.Fail/Bidi")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.String("one")))
		err = cs.RecvMsg(new(wrapperspb.StringValue))
		require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
		require.Equal(t, io.EOF, cs.SendMsg(wrapperspb.String("two")))
		require.NoError(t, cs.CloseSend())
		require.Equal(t, codes.FailedPrecondition, status.Code(cs.RecvMsg(new(wrapperspb.StringValue))))
	})
	t.Run("client streaming", func(t *testing.T) {
		cs, err := e.cc.NewStream(ctx, &failDesc.Streams[0], "/test.Fail/Upload")
		require.NoError(t, err)
		big := wrapperspb.String(string(make([]byte, 64<<10)))
		sent := 0
		for ; sent < 10_000; sent++ { // 640 MiB: far more than any window or buffer
			if err = cs.SendMsg(big); err != nil {
				break
			}
		}
		require.Equal(t, io.EOF, err, "after %d sends", sent)
		require.NoError(t, cs.CloseSend())
		err = cs.RecvMsg(new(wrapperspb.StringValue))
		require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	})
}

// A wait-for-ready call that never gets a connection says why, after the
// context's reason (grpc-go does the same).
func TestWaitForReadyDeadlineNamesLastConnectionError(t *testing.T) {
	checkNoLeaks(t)
	cc, err := NewClient(quietAddr(t), WithInsecure()) // nothing listens there: connection refused
	require.NoError(t, err)
	defer cc.Close()
	// A dial has failed before the call's 500 ms start: on a loaded machine
	// the first dial could still be under way when they ran out, and there
	// was no error yet to name.
	cc.Connect()
	require.Eventually(t, func() bool { return cc.GetState() == TransientFailure }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue), WaitForReady(true))
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "context deadline exceeded")
	require.Contains(t, err.Error(), "last connection error")
	require.Contains(t, err.Error(), "connection refused")
}

// A target without a port dials gRPC's default port, 443, instead of
// failing every call with "missing port in address".
func TestTargetWithoutPortUses443(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1":      "127.0.0.1:443",
		"example.com":    "example.com:443",
		"[::1]":          "[::1]:443",
		"::1":            "[::1]:443",
		"127.0.0.1:8080": "127.0.0.1:8080",
		"[::1]:8080":     "[::1]:8080",
	} {
		require.Equal(t, want, withDefaultPort(addr), addr)
	}

	checkNoLeaks(t)
	for _, target := range []string{"127.0.0.1", "dns:///127.0.0.1"} {
		cc, err := NewClient(target, WithInsecure(), WithConnectParams(ConnectParams{MinConnectTimeout: time.Second}))
		require.NoError(t, err, target)
		err = cc.Invoke(ctxTimeout(t, 10*time.Second), "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue))
		require.NotContains(t, err.Error(), "missing port", target)
		require.Contains(t, err.Error(), "127.0.0.1:443", target)
		require.NoError(t, cc.Close())
	}
}

// A client that speaks the wrong security to a port learns it: cleartext
// against TLS, and TLS against cleartext.
func TestWrongSecuritySaysSo(t *testing.T) {
	checkNoLeaks(t)
	srvTLS, pool := selfSigned(t)

	tlsEnv := newEnv(t, true, []ServerOption{Creds(srvTLS)})
	plain, err := NewClient(tlsEnv.addr, WithInsecure())
	require.NoError(t, err)
	defer plain.Close()
	_, err = (&env{cc: plain}).echo(ctxTimeout(t, 10*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "the server may require TLS")

	plainEnv := newEnv(t, true, nil)
	secure, err := NewClient(plainEnv.addr, WithTLS(&tls.Config{RootCAs: pool}))
	require.NoError(t, err)
	defer secure.Close()
	_, err = (&env{cc: secure}).echo(ctxTimeout(t, 10*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "the server may not use TLS")
}

// A connection is used once the server's SETTINGS arrive, not once our
// preface is out: a dying server's listener still completes handshakes, and
// calls placed on such a connection failed although no server saw them
// (the chaos suite's kill -9 runs lost twice the calls in flight).
func TestNoCallBeforeServerSettings(t *testing.T) {
	checkNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	got := make(chan []byte, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		// Read what the client sends for a while, answering nothing.
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		b, _ := io.ReadAll(conn)
		got <- b
	}()
	cc, err := NewClient(l.Addr().String(), WithInsecure())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue), WaitForReady(true))
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	require.NoError(t, cc.Close())
	b := <-got
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	require.True(t, len(b) >= len(preface) && string(b[:len(preface)]) == preface, "the client sent its preface")
	for rest := b[len(preface):]; len(rest) >= 9; {
		n := int(rest[0])<<16 | int(rest[1])<<8 | int(rest[2])
		require.NotEqual(t, byte(0x1), rest[3], "a HEADERS frame went out before the server's SETTINGS")
		if len(rest) < 9+n {
			break
		}
		rest = rest[9+n:]
	}
}

// A server that accepts but never sends SETTINGS fails the connection
// attempt at the connect timeout, and a fail-fast call says why.
func TestServerWithoutSettingsFailsTheConnection(t *testing.T) {
	checkNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	cc, err := NewClient(l.Addr().String(), WithInsecure(), WithConnectParams(ConnectParams{
		Backoff: BackoffConfig{BaseDelay: time.Second, Multiplier: 1, MaxDelay: time.Second}, MinConnectTimeout: 200 * time.Millisecond}))
	require.NoError(t, err)
	defer cc.Close()
	err = cc.Invoke(ctxTimeout(t, 10*time.Second), "/test.Echo/Echo", wrapperspb.String("x"), new(wrapperspb.StringValue))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "no SETTINGS from the server")
}
