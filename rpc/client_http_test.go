package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// clientHTTPEnv is an echo server reachable over one HTTP transport, and what
// the server saw of each request.
type clientHTTPEnv struct {
	srv    *Server
	target string
	tls    *tls.Config // nil for cleartext
	client *http.Client
	mu     sync.Mutex
	seen   []*http.Request // requests as net/http's server saw them
	protos []string        // their HTTP versions
	h2c    bool
	own    bool         // no WithHTTPClient: the client's own sessions
	opts   []DialOption // for every client of the env (WithHTTP1)
}

func (e *clientHTTPEnv) record(r *http.Request) {
	e.mu.Lock()
	e.seen = append(e.seen, r)
	e.protos = append(e.protos, r.Proto)
	e.mu.Unlock()
}

// last is the last request net/http's server saw; nil over h2c, whose
// requests our own engine serves without net/http.
func (e *clientHTTPEnv) last(t *testing.T) *http.Request {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h2c {
		return nil
	}
	require.NotEmpty(t, e.seen)
	return e.seen[len(e.seen)-1]
}

// echoGetDesc is echoDesc's Echo marked side-effect-free, as generated
// code marks NO_SIDE_EFFECTS methods, so that it may be called with GET.
var echoGetDesc = ServiceDesc{
	ServiceName: "test.EchoGet",
	HandlerType: (*echoServer)(nil),
	Methods:     []MethodDesc{{MethodName: "Echo", Handler: echoHandler, Idempotency: NoSideEffects}},
	Metadata:    "test.proto",
}

// The transports the HTTP client half is tested over.
const (
	overHTTP1    = "http1"     // net/http's server, HTTP/1.1 in cleartext
	overHTTP1TLS = "http1-tls" // net/http's server, HTTP/1.1 over TLS
	overH2TLS    = "h2-tls"    // net/http's server, HTTP/2 over TLS
	overH2C      = "h2c"       // our own engine (Serve), h2c through net/http's client
	overOwnH2C   = "own-h2c"   // our own engine, h2c on the client's own sessions (no WithHTTPClient)
	overOwnTLS   = "own-tls"   // our own engine, TLS on the client's own sessions
)

var httpTransports = []string{overHTTP1, overHTTP1TLS, overH2TLS, overH2C, overOwnH2C, overOwnTLS}

func newClientHTTPEnv(t *testing.T, transport string) *clientHTTPEnv {
	t.Helper()
	if e := newHTTP1ClientEnv(t, transport); e != nil {
		return e // client_http1_test.go
	}
	e := &clientHTTPEnv{srv: NewServer()}
	e.srv.RegisterService(&echoDesc, &echoImpl{})
	e.srv.RegisterService(&echoGetDesc, &echoImpl{})
	e.srv.RegisterService(&errDetailsDesc, struct{}{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.record(r)
		e.srv.ServeHTTP(w, r)
	})
	switch transport {
	case overOwnH2C, overOwnTLS:
		var sopts []ServerOption
		if transport == overOwnTLS {
			srvTLS, pool := selfSigned(t)
			sopts = append(sopts, Creds(srvTLS))
			e.tls = &tls.Config{RootCAs: pool}
		}
		e.srv = NewServer(sopts...)
		e.srv.RegisterService(&echoDesc, &echoImpl{})
		e.srv.RegisterService(&echoGetDesc, &echoImpl{})
		e.srv.RegisterService(&errDetailsDesc, struct{}{})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = e.srv.Serve(l) }()
		t.Cleanup(e.srv.Stop)
		e.target, e.h2c, e.own = l.Addr().String(), true, true
		return e
	case overH2C:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = e.srv.Serve(l) }()
		t.Cleanup(e.srv.Stop)
		e.target = l.Addr().String()
		e.h2c = true
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		e.client = &http.Client{Transport: tr}
		t.Cleanup(tr.CloseIdleConnections)
		return e
	case overHTTP1:
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		e.target = hs.Listener.Addr().String()
		e.client = hs.Client()
	default:
		hs := httptest.NewUnstartedServer(h)
		hs.EnableHTTP2 = transport == overH2TLS
		hs.StartTLS()
		t.Cleanup(hs.Close)
		e.target = hs.Listener.Addr().String()
		e.client = hs.Client()
		e.tls = e.client.Transport.(*http.Transport).TLSClientConfig
	}
	t.Cleanup(e.client.CloseIdleConnections)
	t.Cleanup(e.srv.Stop)
	return e
}

// dial makes a client of protocol p for the env, through its HTTP client.
func (e *clientHTTPEnv) dial(t *testing.T, p Protocol, opts ...DialOption) *ClientConn {
	t.Helper()
	sec := WithInsecure()
	if e.tls != nil {
		sec = WithTLS(e.tls)
	}
	base := []DialOption{sec, WithProtocol(p)}
	if !e.own {
		base = append(base, WithHTTPClient(e.client))
	}
	base = append(base, e.opts...)
	cc, err := NewClient(e.target, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func echoOn(ctx context.Context, cc *ClientConn, method, s string, opts ...CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, method, wrapperspb.String(s), out, opts...)
	return out.GetValue(), err
}

// forEachHTTP runs f for gRPC-Web and Connect over every transport.
func forEachHTTP(t *testing.T, f func(t *testing.T, e *clientHTTPEnv, p Protocol)) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		for _, tr := range httpTransports {
			t.Run(p.String()+"/"+tr, func(t *testing.T) {
				checkNoLeaks(t)
				f(t, newClientHTTPEnv(t, tr), p)
			})
		}
	}
}

func TestHTTPClientUnary(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, e *clientHTTPEnv, p Protocol) {
		ctx := ctxTimeout(t, 10*time.Second)
		for _, codec := range []string{"proto", "json"} {
			for _, comp := range []string{"identity", "gzip"} {
				cc := e.dial(t, p)
				got, err := echoOn(ctx, cc, "/test.Echo/Echo", "hello "+codec+" "+comp, CallContentSubtype(codec), UseCompressor(comp))
				require.NoError(t, err)
				require.Equal(t, "hello "+codec+" "+comp, got)
				r := e.last(t)
				if r == nil {
					continue
				}
				ct := r.Header.Get("Content-Type")
				switch p {
				case ProtocolGRPCWeb:
					require.Equal(t, "application/grpc-web+"+codec, ct)
				case ProtocolConnect:
					require.Equal(t, "application/"+codec, ct)
				}
			}
		}
	})
}

func TestHTTPClientHTTPVersions(t *testing.T) {
	for tr, want := range map[string]string{overHTTP1: "HTTP/1.1", overHTTP1TLS: "HTTP/1.1", overH2TLS: "HTTP/2.0"} {
		e := newClientHTTPEnv(t, tr)
		_, err := echoOn(ctxTimeout(t, 5*time.Second), e.dial(t, ProtocolConnect), "/test.Echo/Echo", "v")
		require.NoError(t, err)
		require.Equal(t, want, e.last(t).Proto, tr)
	}
}

func TestHTTPClientErrorsAndMetadata(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, e *clientHTTPEnv, p Protocol) {
		ctx := ctxTimeout(t, 10*time.Second)
		cc := e.dial(t, p)
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "error:5:not here")
		require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
		require.Equal(t, "not here", status.Convert(err).Message())

		_, err = echoOn(ctx, cc, "/test.Echo/Nope", "x")
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)

		octx := metadata.AppendToOutgoingContext(ctx, "k", "v1", "kb-bin", "\x00\x01", "t", "tv")
		var hdr, tlr metadata.MD
		_, err = echoOn(octx, cc, "/test.Echo/Echo", "md", Header(&hdr), Trailer(&tlr))
		require.NoError(t, err)
		require.Equal(t, []string{"v1"}, hdr["k"])
		require.Equal(t, []string{"\x00\x01"}, hdr["kb-bin"])
		require.Equal(t, []string{"tv"}, tlr["t"])

		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = echoOn(dctx, cc, "/test.Echo/Echo", "sleep:5s")
		require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	})
}

// errDetailsDesc answers with a status carrying a detail.
var errDetailsDesc = ServiceDesc{
	ServiceName: "test.Details",
	HandlerType: (*any)(nil),
	Methods: []MethodDesc{{MethodName: "Fail", Handler: func(_ any, _ context.Context, dec func(any) error, _ UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		st, err := status.New(codes.FailedPrecondition, "needs "+in.Value).WithDetails(wrapperspb.String("detail"))
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}}},
}

func TestHTTPClientStatusDetails(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, e *clientHTTPEnv, p Protocol) {
		_, err := echoOn(ctxTimeout(t, 5*time.Second), e.dial(t, p), "/test.Details/Fail", "x")
		st := status.Convert(err)
		require.Equal(t, codes.FailedPrecondition, st.Code(), "%v", err)
		require.Equal(t, "needs x", st.Message())
		require.Len(t, st.Details(), 1)
		require.True(t, proto.Equal(wrapperspb.String("detail"), st.Details()[0].(proto.Message)))
	})
}

func TestHTTPClientStreams(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, e *clientHTTPEnv, p Protocol) {
		ctx := ctxTimeout(t, 10*time.Second)
		cc := e.dial(t, p, WithProtoJSON(), WithSendGzip())

		// Server streaming.
		cs, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.Int32(3)))
		require.NoError(t, cs.CloseSend())
		for i := 0; i < 3; i++ {
			m := new(wrapperspb.StringValue)
			require.NoError(t, cs.RecvMsg(m))
			require.Equal(t, strconv.Itoa(i), m.Value)
		}
		require.Equal(t, io.EOF, cs.RecvMsg(new(wrapperspb.StringValue)))

		// Client streaming.
		cs, err = cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
		require.NoError(t, err)
		for _, s := range []string{"a", "b", "c"} {
			require.NoError(t, cs.SendMsg(wrapperspb.String(s)))
		}
		require.NoError(t, cs.CloseSend())
		m := new(wrapperspb.StringValue)
		require.NoError(t, cs.RecvMsg(m))
		require.Equal(t, "abc", m.Value)
		require.Equal(t, io.EOF, cs.RecvMsg(m))

		// Bidi, half-duplex: every request, then every response (what
		// HTTP/1.1 allows).
		cs, err = cc.NewStream(ctx, &echoDesc.Streams[2], "/test.Echo/Chat")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.String("x")))
		require.NoError(t, cs.SendMsg(wrapperspb.String("y")))
		require.NoError(t, cs.CloseSend())
		for _, want := range []string{"echo:x", "echo:y"} {
			require.NoError(t, cs.RecvMsg(m))
			require.Equal(t, want, m.Value)
		}
		require.Equal(t, io.EOF, cs.RecvMsg(m))

		if r := e.last(t); r == nil {
			return
		} else if p == ProtocolConnect {
			require.Equal(t, "application/connect+json", r.Header.Get("Content-Type"))
			require.Equal(t, "gzip", r.Header.Get("Connect-Content-Encoding"))
		} else {
			require.Equal(t, "gzip", r.Header.Get("Grpc-Encoding"))
		}
	})
}

// Over HTTP/2 a bidi stream is full-duplex: each response arrives before
// the next request is sent.
func TestHTTPClientFullDuplexOverHTTP2(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		for _, tr := range []string{overH2C, overH2TLS, overOwnH2C, overOwnTLS} {
			t.Run(p.String()+"/"+tr, func(t *testing.T) {
				checkNoLeaks(t)
				e := newClientHTTPEnv(t, tr)
				cs, err := e.dial(t, p).NewStream(ctxTimeout(t, 10*time.Second), &echoDesc.Streams[2], "/test.Echo/Chat")
				require.NoError(t, err)
				m := new(wrapperspb.StringValue)
				for _, s := range []string{"1", "2", "3"} {
					require.NoError(t, cs.SendMsg(wrapperspb.String(s)))
					require.NoError(t, cs.RecvMsg(m))
					require.Equal(t, "echo:"+s, m.Value)
				}
				require.NoError(t, cs.CloseSend())
				require.Equal(t, io.EOF, cs.RecvMsg(m))
			})
		}
	}
}

func TestHTTPClientConnectGET(t *testing.T) {
	for _, tr := range []string{overHTTP1, overH2TLS} {
		t.Run(tr, func(t *testing.T) {
			checkNoLeaks(t)
			e := newClientHTTPEnv(t, tr)
			ctx := ctxTimeout(t, 5*time.Second)
			cc := e.dial(t, ProtocolConnect, WithHTTPGet())
			for _, codec := range []string{"proto", "json"} {
				got, err := echoOn(ctx, cc, "/test.EchoGet/Echo", "cacheable "+codec, CallContentSubtype(codec), MethodIdempotency(NoSideEffects))
				require.NoError(t, err)
				require.Equal(t, "cacheable "+codec, got)
				r := e.last(t)
				require.Equal(t, http.MethodGet, r.Method)
				q := r.URL.Query()
				require.Equal(t, "v1", q.Get("connect"))
				require.Equal(t, codec, q.Get("encoding"))
				if codec == "proto" {
					require.Equal(t, "1", q.Get("base64"))
				} else {
					require.Equal(t, `"cacheable json"`, q.Get("message"))
				}
			}
			// Compressed: base64 of the gzip stream.
			_, err := echoOn(ctx, cc, "/test.EchoGet/Echo", "z", MethodIdempotency(NoSideEffects), UseCompressor("gzip"))
			require.NoError(t, err)
			require.Equal(t, "gzip", e.last(t).URL.Query().Get("compression"))

			// A method not marked side-effect-free still POSTs.
			_, err = echoOn(ctx, cc, "/test.Echo/Echo", "post")
			require.NoError(t, err)
			require.Equal(t, http.MethodPost, e.last(t).Method)

			// Without WithHTTPGet, marked methods POST too.
			_, err = echoOn(ctx, e.dial(t, ProtocolConnect), "/test.EchoGet/Echo", "post", MethodIdempotency(NoSideEffects))
			require.NoError(t, err)
			require.Equal(t, http.MethodPost, e.last(t).Method)
		})
	}
}

// Without WithHTTPClient, calls run over HTTP/2 on the client's own
// sessions, dialed as for gRPC: here through WithContextDialer, to
// net/http's server (h2c) in memory, which sees HTTP/2 requests.
func TestHTTPClientDefaultTransport(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	l := NewInMemoryListener()
	var proto atomic.Value
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		srv.ServeHTTP(w, r)
	}), Protocols: new(http.Protocols)}
	hs.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = hs.Serve(l) }()
	defer func() { _ = hs.Close() }()
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		cc, err := NewClient("inmem", WithInsecure(), WithProtocol(p), WithContextDialer(l.Dial))
		require.NoError(t, err)
		got, err := echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "via default")
		require.NoError(t, err)
		require.Equal(t, "via default", got)
		require.Equal(t, "HTTP/2.0", proto.Load())
		require.NoError(t, cc.Close())
	}
}

func TestConnectGetQueryOrder(t *testing.T) {
	require.Equal(t, "connect=v1&base64=1&encoding=proto&compression=gzip&message=AAE",
		connectGetQuery("proto", []byte{0, 1}, "gzip"))
	require.Equal(t, "connect=v1&encoding=json&message=%7B%22a%22%3A1%7D",
		connectGetQuery("json", []byte(`{"a":1}`), ""))
}

// rawServer answers every request with status, content-type,
// content-encoding and body, over HTTP/1.1.
func rawServer(t *testing.T, code int, ct, enc string, body []byte) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ct)
		if enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
		w.WriteHeader(code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(hs.Client().CloseIdleConnections)
	return hs
}

// A Connect error whose code is missing or unknown takes the HTTP status's
// code and keeps its message; a compressed error body is read; a body that
// is not Connect's JSON leaves the HTTP status's code.
func TestConnectUnaryErrorBodies(t *testing.T) {
	checkNoLeaks(t)
	gz, err := gzipCompressor{}.Compress(nil, []byte(`{"code":"out_of_range","message":"zipped"}`))
	require.NoError(t, err)
	for _, c := range []struct {
		status   int
		ct, enc  string
		body     []byte
		wantCode codes.Code
		wantMsg  string
	}{
		{401, "application/json", "", []byte(`{"message":"oops"}`), codes.Unauthenticated, "oops"},
		{503, "application/json", "", []byte(`{"code":"hmm","message":"oops"}`), codes.Unavailable, "oops"},
		{422, "application/json", "gzip", gz, codes.OutOfRange, "zipped"},
		{404, "text/html", "", []byte("<p>no</p>"), codes.Unimplemented, ""},
		{200, "image/jpeg", "", []byte("\xff\xd8"), codes.Unknown, ""},
	} {
		hs := rawServer(t, c.status, c.ct, c.enc, c.body)
		cc, err := NewClient(hs.Listener.Addr().String(), WithInsecure(), WithConnect(), WithHTTPClient(hs.Client()))
		require.NoError(t, err)
		_, err = echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "x")
		require.Equal(t, c.wantCode, status.Code(err), "%+v: %v", c, err)
		if c.wantMsg != "" {
			require.Equal(t, c.wantMsg, status.Convert(err).Message())
		}
		require.NoError(t, cc.Close())
	}
}

// A call blocked waiting for a response while its request stream is open
// still ends at its deadline (net/http alone would wait for the next
// request message).
func TestHTTPClientDeadlineWhileStreaming(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, e *clientHTTPEnv, p Protocol) {
		cc := e.dial(t, p)
		// Connected (and TLS done) first: the deadline is the stream's alone.
		_, err := echoOn(ctxTimeout(t, 10*time.Second), cc, "/test.Echo/Echo", "warm")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		cs, err := cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
		require.NoError(t, err)
		if err := cs.SendMsg(wrapperspb.String("a")); err != nil {
			// The call may have ended at its deadline already on a slow
			// machine: SendMsg then says io.EOF, and RecvMsg why.
			require.Equal(t, io.EOF, err)
			require.Error(t, ctx.Err())
		}
		err = cs.RecvMsg(new(wrapperspb.StringValue))
		require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	})
}

// A gRPC-Web header with grpc-status is the call's status only when the
// body is empty (trailers-only, its metadata both header and trailer); a
// trailer envelope in the body takes precedence.
func TestGRPCWebTrailersOnly(t *testing.T) {
	checkNoLeaks(t)
	trailer := appendGRPCWebTrailers(nil, h2.Header{{Name: "grpc-status", Value: "9"}, {Name: "grpc-message", Value: "from body"}})
	for _, c := range []struct {
		body []byte
		want codes.Code
	}{{nil, codes.ResourceExhausted}, {trailer, codes.FailedPrecondition}} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/grpc-web+proto")
			w.Header().Set("Grpc-Status", "8")
			w.Header().Set("X-Custom", "v")
			_, _ = w.Write(c.body)
		}))
		cc, err := NewClient(hs.Listener.Addr().String(), WithInsecure(), WithGRPCWeb(), WithHTTPClient(hs.Client()))
		require.NoError(t, err)
		cs, err := cc.NewStream(ctxTimeout(t, 5*time.Second), &echoDesc.Streams[2], "/test.Echo/Chat")
		require.NoError(t, err)
		require.NoError(t, cs.CloseSend())
		err = cs.RecvMsg(new(wrapperspb.StringValue))
		require.Equal(t, c.want, status.Code(err), "%v", err)
		hdr, _ := cs.Header()
		require.Equal(t, []string{"v"}, hdr["x-custom"])
		if c.body == nil {
			require.Equal(t, []string{"v"}, cs.Trailer()["x-custom"])
		}
		require.NoError(t, cc.Close())
		hs.Client().CloseIdleConnections()
		hs.Close()
	}
}

// Over HTTP/1.1 a bidi stream is half-duplex only: receiving before
// CloseSend fails plainly with UNIMPLEMENTED once the server answers.
func TestHTTPClientFullDuplexOverHTTP1(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			e := newClientHTTPEnv(t, overHTTP1)
			cs, err := e.dial(t, p).NewStream(ctxTimeout(t, 10*time.Second), &echoDesc.Streams[2], "/test.Echo/Chat")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.String("1")))
			err = cs.RecvMsg(new(wrapperspb.StringValue))
			require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
			require.Contains(t, err.Error(), "require HTTP/2")
		})
	}
}

// Once the caller cancels, the stream's next RecvMsg says CANCELED, even
// when the whole response (messages and the end of the stream) had already
// arrived: the same promise as the gRPC path's. The Connect conformance
// suite's cancel-before-close-send case saw a clean end about once in ten.
func TestHTTPClientRecvAfterCancelIsCanceled(t *testing.T) {
	for _, p := range []Protocol{ProtocolConnect, ProtocolGRPCWeb} {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			e := newClientHTTPEnv(t, overOwnH2C)
			cc := e.dial(t, p)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cs, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.Int32(2)))
			require.NoError(t, cs.CloseSend())
			m := new(wrapperspb.StringValue)
			require.NoError(t, cs.RecvMsg(m))
			cancel()
			require.Equal(t, codes.Canceled, status.Code(cs.RecvMsg(m)))
			require.Equal(t, codes.Canceled, status.Code(cs.RecvMsg(m)), "and stays so")
		})
	}
}

func TestHTTPErrorNamesUsOnce(t *testing.T) {
	ctx := context.Background()
	st, _ := status.FromError(httpError(ctx, errNoAnswer))
	require.Equal(t, codes.Unavailable, st.Code())
	require.Equal(t, errNoAnswer.Error(), st.Message())
	st, _ = status.FromError(httpError(ctx, errors.New("dial tcp: refused")))
	require.Equal(t, "rpc: dial tcp: refused", st.Message())
}
