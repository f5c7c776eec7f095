package rpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// selfSigned returns a server TLS config for 127.0.0.1 and a client pool trusting it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestTLS(t *testing.T) {
	checkNoLeaks(t)
	srvTLS, pool := selfSigned(t)
	e := newEnv(t, true, []ServerOption{Creds(srvTLS)}, WithTLS(&tls.Config{RootCAs: pool}))
	got, err := e.echo(ctxTimeout(t, 5*time.Second), "secure")
	require.NoError(t, err)
	require.Equal(t, "secure", got)

	// A client that does not trust the server fails with UNAVAILABLE.
	bad, err := NewClient(e.addr, WithTLS(&tls.Config{}))
	require.NoError(t, err)
	defer bad.Close()
	_, err = (&env{cc: bad}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err), err)
	// A cleartext client against a TLS server fails too.
	plain, err := NewClient(e.addr, WithInsecure())
	require.NoError(t, err)
	defer plain.Close()
	_, err = (&env{cc: plain}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.Error(t, err)
}

func TestStatusDetailsTravel(t *testing.T) {
	checkNoLeaks(t)
	detailed := func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		st, err := status.New(codes.FailedPrecondition, "need more").WithDetails(durationpb.New(5 * time.Second))
		require.NoError(t, err)
		return nil, st.Err()
	}
	e := newEnv(t, false, []ServerOption{UnaryInterceptor(detailed)})
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	st, ok := status.FromError(err)
	require.True(t, ok)
	require.Equal(t, codes.FailedPrecondition, st.Code())
	require.Equal(t, "need more", st.Message())
	d := st.Details()
	require.Len(t, d, 1)
	require.True(t, proto.Equal(durationpb.New(5*time.Second), d[0].(proto.Message)))
}

func TestNonGRPCServerResponse(t *testing.T) {
	checkNoLeaks(t)
	// A plain HTTP/2 server (think: a proxy's error page) answers 503 / 404 / wrong content type.
	var mode atomic.Int32
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		switch mode.Load() {
		case 0:
			_ = st.Respond(h2.Header{{Name: ":status", Value: "503"}}, &h2.RespondOptions{EndStream: true})
		case 1:
			_ = st.Respond(h2.Header{{Name: ":status", Value: "404"}}, &h2.RespondOptions{EndStream: true})
		case 2:
			_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "text/html"}}, nil)
			_, _ = st.Write([]byte("<html>"))
		case 3:
			// gRPC response that ends without grpc-status.
			_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}, nil)
		}
	})}
	cc := clientOfH2Server(t, hs)
	e := &env{cc: cc}
	// A 200 that is not gRPC at all (mode 2) is UNKNOWN, as the gRPC spec
	// and the Connect conformance suite ask.
	for m, want := range []codes.Code{codes.Unavailable, codes.Unimplemented, codes.Unknown, codes.Internal} {
		mode.Store(int32(m))
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.Equal(t, want, status.Code(err), "mode %d: %v", m, err)
	}
}

func TestMaxConcurrentStreams(t *testing.T) {
	checkNoLeaks(t)
	var running, peak atomic.Int32
	e := newEnv(t, false, []ServerOption{MaxConcurrentStreams(2), UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer running.Add(-1)
		return h(ctx, req)
	})})
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := e.echo(ctxTimeout(t, 10*time.Second), "sleep:50ms")
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-errs)
	}
	require.LessOrEqual(t, peak.Load(), int32(2))
}

func TestStreamCancellationReachesServer(t *testing.T) {
	checkNoLeaks(t)
	serverErr := make(chan error, 1)
	e := newEnv(t, true, []ServerOption{StreamInterceptor(func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
		err := h(srv, ss)
		serverErr <- err
		return err
	})})
	ctx, cancel := context.WithCancel(context.Background())
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[2], "/test.Echo/Chat")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("a")))
	require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
	cancel()
	err = cs.RecvMsg(new(wrapperspb.StringValue))
	require.Equal(t, codes.Canceled, status.Code(err))
	select {
	case serr := <-serverErr:
		require.Equal(t, codes.Canceled, status.Code(serr), serr)
	case <-time.After(3 * time.Second):
		t.Fatal("server stream not canceled")
	}
	// SendMsg after the end reports io.EOF, as in grpc-go.
	require.Equal(t, io.EOF, cs.SendMsg(wrapperspb.String("late")))
}

func TestServerStreamErrorMidway(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, nil)
	cs, err := e.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[1], "/test.Echo/Concat")
	require.NoError(t, err)
	// More than the server accepts: the server's RecvMsg fails, the call ends with RESOURCE_EXHAUSTED.
	e2 := newEnv(t, false, []ServerOption{MaxRecvMsgSize(10)})
	cs2, err := e2.cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[1], "/test.Echo/Concat")
	require.NoError(t, err)
	require.NoError(t, cs2.SendMsg(wrapperspb.String("short")))
	_ = cs2.SendMsg(wrapperspb.String("this one is far too long"))
	_ = cs2.CloseSend()
	err = cs2.RecvMsg(new(wrapperspb.StringValue))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	require.NoError(t, cs.CloseSend())
	m := new(wrapperspb.StringValue)
	require.NoError(t, cs.RecvMsg(m))
	require.Equal(t, "", m.Value)
}

func TestPingsAfterServerDataAreForgiven(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil) // default policy: 5 minutes, no pings without streams
	var goAways atomic.Int32
	opts := &h2.ClientOptions{}
	opts.Hooks.OnGoAway = func(*h2.Session, h2.ErrCode, uint32, []byte) { goAways.Add(1) }
	sess, err := h2.Dial(ctxTimeout(t, 5*time.Second), e.addr, opts)
	require.NoError(t, err)
	defer sess.Close()
	// Like grpc-go's BDP estimator: a ping after every response received.
	for i := 0; i < 6; i++ {
		ctx := ctxTimeout(t, 5*time.Second)
		st, err := sess.Request(ctx, grpcReq("/test.Echo/Echo"), nil)
		require.NoError(t, err)
		_, err = st.Write(encoded(t, "x"))
		require.NoError(t, err)
		require.NoError(t, st.CloseWrite())
		_, err = io.ReadAll(st)
		require.NoError(t, err)
		_, err = sess.Ping(ctx, [8]byte{byte(i)})
		require.NoError(t, err)
	}
	require.Zero(t, goAways.Load())
}

func TestClientKeepaliveDropsDeadServer(t *testing.T) {
	checkNoLeaks(t)
	// A "server" that accepts and reads but never answers: only the
	// keepalive ping can tell that it is gone.
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
	cc, err := NewClient(l.Addr().String(), WithInsecure(), WithKeepaliveParams(ClientParameters{Time: 50 * time.Millisecond, Timeout: 100 * time.Millisecond}))
	require.NoError(t, err)
	defer cc.Close()
	start := time.Now()
	_, err = (&env{cc: cc}).echo(ctxTimeout(t, 10*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err), err)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestClientKeepaliveQuietWithoutCalls(t *testing.T) {
	checkNoLeaks(t)
	// The server's default policy forbids pings without calls; an idle
	// client with keepalive must not trip it. Pings during a call are
	// allowed here (MinTime 1 ms): a loaded machine can leave the call's
	// answer unsent for several 10 ms Times, and those pings, under the
	// default 5 minutes, would be strikes of their own.
	e := newEnv(t, true, []ServerOption{KeepaliveEnforcementPolicy(EnforcementPolicy{MinTime: time.Millisecond})},
		WithKeepaliveParams(ClientParameters{Time: 10 * time.Millisecond, Timeout: time.Second}))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	e.cc.mu.Lock()
	state := e.cc.subs[0].state
	e.cc.mu.Unlock()
	require.Equal(t, subReady, state, "the idle connection was dropped")
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "y")
	require.NoError(t, err)
}

func TestConnectionAgeGraceEndsLongCalls(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, false, []ServerOption{KeepaliveParams(ServerParameters{MaxConnectionAge: 50 * time.Millisecond, MaxConnectionAgeGrace: 100 * time.Millisecond})})
	start := time.Now()
	_, err := e.echo(ctxTimeout(t, 10*time.Second), "block")
	require.Equal(t, codes.Unavailable, status.Code(err), err)
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestServeAfterStop(t *testing.T) {
	srv := NewServer()
	srv.Stop()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	require.ErrorIs(t, srv.Serve(l), ErrServerClosed)
	require.Panics(t, func() { srv.RegisterService(&echoDesc, &echoImpl{}) })
}

// pastDeadlineCtx has a deadline that passed although its timer has not
// fired yet: the moment when a server's CANCEL for that deadline arrives.
type pastDeadlineCtx struct{ context.Context }

func (pastDeadlineCtx) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

func TestServerCancelAfterDeadlineIsDeadlineExceeded(t *testing.T) {
	reset := &h2.StreamError{StreamID: 1, Code: h2.ErrCodeCancel, Remote: true}
	cs := &clientStream{ctx: pastDeadlineCtx{context.Background()}}
	require.Equal(t, codes.DeadlineExceeded, status.Code(cs.fail(reset)))
	cs = &clientStream{ctx: context.Background()}
	require.Equal(t, codes.Canceled, status.Code(cs.fail(reset)))
	cs = &clientStream{ctx: context.Background()}
	require.Equal(t, codes.ResourceExhausted, status.Code(cs.fail(&h2.StreamError{Code: h2.ErrCodeEnhanceYourCalm, Remote: true})))
	cs = &clientStream{ctx: context.Background()}
	require.Equal(t, codes.Internal, status.Code(cs.fail(&h2.StreamError{Code: h2.ErrCodeProtocol, Remote: true})))
	cs = &clientStream{ctx: context.Background()}
	require.Equal(t, codes.Unavailable, status.Code(cs.fail(&h2.StreamError{Code: h2.ErrCodeRefusedStream, Remote: true})))
	require.True(t, cs.unprocessed, "a refused stream is safe to retry")
}

func TestTransparentRetryOfRefusedStream(t *testing.T) {
	checkNoLeaks(t)
	// The first stream is refused before any processing (REFUSED_STREAM);
	// the client retries it on its own and the caller sees success.
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	var served atomic.Int32
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		if served.Add(1) == 1 {
			st.Reset(h2.ErrCodeRefusedStream)
			return
		}
		srv.serveStream(st)
	})}
	cc := clientOfH2Server(t, hs)
	got, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "retried")
	require.NoError(t, err)
	require.Equal(t, "retried", got)
	require.Equal(t, int32(2), served.Load())
}

func TestPeerFromContext(t *testing.T) {
	checkNoLeaks(t)
	_, ok := PeerFromContext(context.Background())
	require.False(t, ok)
	srvTLS, pool := selfSigned(t)
	peers := make(chan *Peer, 1)
	e := newEnv(t, true, []ServerOption{Creds(srvTLS), UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		p, ok := PeerFromContext(ctx)
		require.True(t, ok)
		peers <- p
		return h(ctx, req)
	})}, WithTLS(&tls.Config{RootCAs: pool}))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "who")
	require.NoError(t, err)
	p := <-peers
	require.Equal(t, e.addr, p.LocalAddr.String())
	require.Contains(t, p.Addr.String(), "127.0.0.1:")
	require.NotNil(t, p.TLS)
	require.Equal(t, "h2", p.TLS.NegotiatedProtocol)
}

func TestLargeMessagesBothWays(t *testing.T) {
	bothTransports(t, func(t *testing.T, tcp bool) {
		checkNoLeaks(t)
		e := newEnv(t, tcp, nil)
		big := string(make([]byte, 3<<20)) // under the 4 MiB default, over every window
		got, err := e.echo(ctxTimeout(t, 20*time.Second), big)
		require.NoError(t, err)
		require.Equal(t, len(big), len(got))
		// Just over the default limit is refused, promptly: the client is
		// not left blocked on flow control for the part the server skips.
		start := time.Now()
		_, err = e.echo(ctxTimeout(t, 20*time.Second), string(make([]byte, 4<<20)))
		require.Equal(t, codes.ResourceExhausted, status.Code(err))
		require.Less(t, time.Since(start), 5*time.Second)
		// Several at once share the connection's flow control.
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			go func() {
				_, err := e.echo(ctxTimeout(t, 20*time.Second), big[:1<<20])
				errs <- err
			}()
		}
		for i := 0; i < 4; i++ {
			require.NoError(t, <-errs)
		}
	})
}

func TestThousandIdleStreamsBesideBusyOnes(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 1,000 open bidi streams that say nothing: with the default limit they
	// must not starve unary calls on the same connection.
	for i := 0; i < 1000; i++ {
		_, err := e.cc.NewStream(ctx, &echoDesc.Streams[2], "/test.Echo/Chat")
		require.NoError(t, err)
	}
	for i := 0; i < 10; i++ {
		got, err := e.echo(ctxTimeout(t, 5*time.Second), "busy")
		require.NoError(t, err)
		require.Equal(t, "busy", got)
	}
	cancel()
}
