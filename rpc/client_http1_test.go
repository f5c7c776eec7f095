package rpc

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The transports of WithHTTP1, added to the client tests' matrix
// (client_http_test.go), so that every test there runs over them too.
const (
	overOwnHTTP1    = "own-http1"     // Serve, HTTP/1.1 in cleartext, WithHTTP1
	overOwnHTTP1TLS = "own-http1-tls" // Serve, HTTP/1.1 over TLS, WithHTTP1
	overNetHTTP1    = "net-http1"     // net/http's HTTP/1.1 server, WithHTTP1
)

func init() {
	httpTransports = append(httpTransports, overOwnHTTP1, overOwnHTTP1TLS, overNetHTTP1)
}

// newHTTP1ClientEnv makes the env of a WithHTTP1 transport; nil for the
// others.
func newHTTP1ClientEnv(t *testing.T, transport string) *clientHTTPEnv {
	t.Helper()
	e := &clientHTTPEnv{opts: []DialOption{WithHTTP1()}, own: true}
	register := func(s *Server) {
		s.RegisterService(&echoDesc, &echoImpl{})
		s.RegisterService(&echoGetDesc, &echoImpl{})
		s.RegisterService(&errDetailsDesc, struct{}{})
	}
	switch transport {
	case overOwnHTTP1, overOwnHTTP1TLS:
		var sopts []ServerOption
		if transport == overOwnHTTP1TLS {
			srvTLS, pool := selfSigned(t)
			sopts = append(sopts, Creds(srvTLS))
			e.tls = &tls.Config{RootCAs: pool}
		}
		e.srv = NewServer(sopts...)
		register(e.srv)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = e.srv.Serve(l) }()
		t.Cleanup(e.srv.Stop)
		e.target, e.h2c = l.Addr().String(), true // e.h2c: no net/http request to look at
		return e
	case overNetHTTP1:
		e.srv = NewServer()
		register(e.srv)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.record(r)
			e.srv.ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		t.Cleanup(e.srv.Stop)
		e.target = hs.Listener.Addr().String()
		return e
	}
	return nil
}

func TestHTTP1ClientOptions(t *testing.T) {
	_, err := NewClient("x:1", WithInsecure(), WithHTTP1())
	require.ErrorIs(t, err, errHTTP1Options, "gRPC needs HTTP/2")
	_, err = NewClient("x:1", WithInsecure(), WithConnect(), WithHTTP1(), WithHTTPClient(http.DefaultClient))
	require.ErrorIs(t, err, errHTTP1Options)
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// http1Pair is Serve and a WithHTTP1 client of protocol p, the server's
// accepted connections counted.
func http1Pair(t *testing.T, p Protocol, sopts ...ServerOption) (*ClientConn, *countingListener) {
	t.Helper()
	srv := NewServer(sopts...)
	srv.RegisterService(&echoDesc, &echoImpl{})
	srv.RegisterService(&echoGetDesc, &echoImpl{})
	l0, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &countingListener{Listener: l0}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	cc, err := NewClient(l.Addr().String(), WithInsecure(), WithProtocol(p), WithHTTP1())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc, l
}

// Calls one after another share one connection; concurrent calls each
// take one of the pool's, which are kept for the next ones.
func TestHTTP1ClientPoolsConnections(t *testing.T) {
	checkNoLeaks(t)
	cc, l := http1Pair(t, ProtocolConnect)
	ctx := ctxTimeout(t, 10*time.Second)
	for i := 0; i < 5; i++ {
		got, err := echoOn(ctx, cc, "/test.Echo/Echo", "seq")
		require.NoError(t, err)
		require.Equal(t, "seq", got)
	}
	require.Equal(t, int32(1), l.n.Load())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := echoOn(ctx, cc, "/test.Echo/Echo", "sleep:100ms")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	opened := l.n.Load()
	require.LessOrEqual(t, opened, int32(5))
	require.Greater(t, opened, int32(1), "concurrent calls do not share a connection")
	for i := 0; i < 4; i++ {
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "again")
		require.NoError(t, err)
	}
	require.Equal(t, opened, l.n.Load(), "the pool keeps them")
}

// A deadline or a cancellation ends the call with its code; a call cut
// mid-exchange closes its connection (it cannot carry another), and the
// next call dials anew. (At a deadline the server, which got the timeout,
// may answer first: then the exchange is whole and its connection kept.)
func TestHTTP1ClientDeadlineAndCancelCloseTheConnection(t *testing.T) {
	checkNoLeaks(t)
	cc, _ := http1Pair(t, ProtocolConnect)
	ctx := ctxTimeout(t, 10*time.Second)
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := echoOn(dctx, cc, "/test.Echo/Echo", "sleep:5s")
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)

	cc, l := http1Pair(t, ProtocolConnect)
	_, err = echoOn(ctx, cc, "/test.Echo/Echo", "warm")
	require.NoError(t, err)
	cctx, cancel2 := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel2)
	_, err = echoOn(cctx, cc, "/test.Echo/Echo", "sleep:5s")
	require.Equal(t, codes.Canceled, status.Code(err), "%v", err)

	got, err := echoOn(ctx, cc, "/test.Echo/Echo", "after")
	require.NoError(t, err)
	require.Equal(t, "after", got)
	require.Equal(t, int32(2), l.n.Load(), "the canceled call's connection was closed, not reused")
}

// A connection the server closed while idle (its idle timeout) is noticed
// before reuse: the call goes on a new connection and succeeds.
func TestHTTP1ClientDropsConnectionsTheServerClosed(t *testing.T) {
	checkNoLeaks(t)
	cc, l := http1Pair(t, ProtocolConnect, KeepaliveParams(ServerParameters{MaxConnectionIdle: 50 * time.Millisecond}))
	ctx := ctxTimeout(t, 10*time.Second)
	h := cc.http.t.(*http1Client)
	for i := 0; i < 3; i++ {
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
		// Waited for, not slept on: the server's close has reached the
		// pooled connection (a loaded machine may run the server's idle
		// timeout late), and the connection has been idle long enough
		// for its next use to look (http1StaleAfter).
		require.Eventually(t, func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			conns := h.idle[l.Addr().String()]
			return len(conns) == 1 && time.Since(conns[0].lastUsed) >= http1StaleAfter && closedByPeer(conns[0].nc)
		}, 5*time.Second, 5*time.Millisecond, "the server closes the idle connection")
	}
	require.Equal(t, int32(3), l.n.Load())
}

// A request that never reached the server (its connection was broken
// before the write) is sent again on a new connection.
func TestHTTP1ClientRetriesARequestNeverWritten(t *testing.T) {
	checkNoLeaks(t)
	cc, l := http1Pair(t, ProtocolGRPCWeb)
	ctx := ctxTimeout(t, 10*time.Second)
	_, err := echoOn(ctx, cc, "/test.Echo/Echo", "warm")
	require.NoError(t, err)
	h := cc.http.t.(*http1Client)
	h.mu.Lock()
	for _, conns := range h.idle {
		for _, c := range conns {
			_ = c.nc.Close() // broken on our side: the write fails before a byte leaves
		}
	}
	h.mu.Unlock()
	got, err := echoOn(ctx, cc, "/test.Echo/Echo", "retried")
	require.NoError(t, err)
	require.Equal(t, "retried", got)
	require.Equal(t, int32(2), l.n.Load())
}

// Connect GET over WithHTTP1: the message in the query, no body.
func TestHTTP1ClientConnectGET(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&echoGetDesc, &echoImpl{})
	var methods []string
	var mu sync.Mutex
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method+" "+r.Proto)
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	cc, err := NewClient(hs.Listener.Addr().String(), WithInsecure(), WithConnect(), WithHTTP1(), WithHTTPGet())
	require.NoError(t, err)
	defer cc.Close()
	out := new(wrapperspb.StringValue)
	require.NoError(t, cc.Invoke(ctxTimeout(t, 5*time.Second), "/test.EchoGet/Echo", wrapperspb.String("get"), out,
		MethodIdempotency(NoSideEffects)))
	require.Equal(t, "get", out.GetValue())
	require.Equal(t, []string{"GET HTTP/1.1"}, methods)
}

// A response the client cannot frame fails the call as UNAVAILABLE, as a
// broken exchange does over net/http's client.
func TestHTTP1ClientMalformedResponses(t *testing.T) {
	checkNoLeaks(t)
	for name, resp := range map[string]string{
		"bad status":  "HTTP/1.1 2x0 OK\r\n\r\n",
		"bad version": "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
		"bad TE":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"bad CL":      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"signed CL":   "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: +3\r\n\r\nabc",
		"two CLs":     "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"third CL":    "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: 2\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"two TEs":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"bad chunk":   "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"short body":  "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: 10\r\n\r\nab",
		"no answer":   "",
		"bad field":   "HTTP/1.1 200 OK\r\nNo Colon\r\n\r\n",
		"obs-fold":    "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"huge header": "HTTP/1.1 200 OK\r\nX: " + string(make([]byte, maxHTTP1Line)) + "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = c.Write([]byte(resp))
			}()
			cc, err := NewClient(l.Addr().String(), WithInsecure(), WithConnect(), WithHTTP1())
			require.NoError(t, err)
			defer cc.Close()
			_, err = echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "x")
			require.Error(t, err)
			require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
			require.NotContains(t, err.Error(), "request", "says what was wrong with the response")
		})
	}
}

// Large messages both ways (written with the head in one writev) arrive
// whole, and the connection carries on.
func TestHTTP1ClientLargeMessages(t *testing.T) {
	checkNoLeaks(t)
	for _, p := range []Protocol{ProtocolConnect, ProtocolGRPCWeb} {
		cc, l := http1Pair(t, p)
		ctx := ctxTimeout(t, 10*time.Second)
		got, err := echoOn(ctx, cc, "/test.Echo/Echo", "big:300000")
		require.NoError(t, err)
		require.Len(t, got, 300000)
		long := strings.Repeat("x", 200000)
		got, err = echoOn(ctx, cc, "/test.Echo/Echo", long)
		require.NoError(t, err)
		require.Equal(t, long, got)
		require.Equal(t, int32(1), l.n.Load())
	}
}

// WithHTTP1 dials as gRPC connections do: through the proxy WithProxy
// names, with CONNECT.
func TestHTTP1ClientThroughAProxy(t *testing.T) {
	checkNoLeaks(t)
	p := startConnectProxy(t, 0)
	e := newEnv(t, true, nil)
	cc, err := NewClient(e.addr, WithInsecure(), WithConnect(), WithHTTP1(),
		WithProxy(func(string) (*url.URL, error) { return p.url(), nil }))
	require.NoError(t, err)
	defer cc.Close()
	for range 2 {
		got, err := echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "through the proxy")
		require.NoError(t, err)
		require.Equal(t, "through the proxy", got)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Equal(t, []string{e.addr}, p.hosts, "one tunnel, kept alive for both calls")
}

// Closing the ClientConn fails its calls in flight with CANCELED, as on
// the gRPC path: their connections are closed under them.
func TestHTTP1ClientCloseCancelsCallsInFlight(t *testing.T) {
	checkNoLeaks(t)
	cc, _ := http1Pair(t, ProtocolConnect)
	ctx := ctxTimeout(t, 10*time.Second)
	_, err := echoOn(ctx, cc, "/test.Echo/Echo", "warm")
	require.NoError(t, err)
	time.AfterFunc(100*time.Millisecond, func() { _ = cc.Close() })
	_, err = echoOn(ctx, cc, "/test.Echo/Echo", "sleep:2s")
	require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
	_, err = echoOn(ctx, cc, "/test.Echo/Echo", "after")
	require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
}
