package rpc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// h1Env is an echo server on Serve, called over HTTP/1.1 by net/http's
// client and by hand over raw connections.
type h1Env struct {
	srv    *Server
	impl   *echoImpl
	addr   string
	url    string
	client *http.Client
	served chan error
}

func newH1Env(t *testing.T, sopts ...ServerOption) *h1Env {
	t.Helper()
	e := &h1Env{impl: &echoImpl{started: make(chan struct{}, 16)}, served: make(chan error, 1)}
	e.srv = NewServer(sopts...)
	e.srv.RegisterService(&echoDesc, e.impl)
	e.srv.RegisterService(&lookupDesc, e.impl)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e.addr = l.Addr().String()
	e.url = "http://" + e.addr
	go func() { e.served <- e.srv.Serve(l) }()
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetHTTP1(true)
	e.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		e.srv.Stop()
		<-e.served
	})
	return e
}

func (e *h1Env) post(t *testing.T, path, ct string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", e.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// raw is a hand-driven HTTP/1.x connection to the server.
type raw struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (e *h1Env) dial(t *testing.T) *raw {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *raw) send(s string) {
	r.t.Helper()
	_, err := io.WriteString(r.c, s)
	require.NoError(r.t, err)
}

// response reads one response and its whole body.
func (r *raw) response() (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, nil)
	require.NoError(r.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp, string(b)
}

// closed asserts that the server closed the connection.
func (r *raw) closed() {
	r.t.Helper()
	_, err := r.br.ReadByte()
	require.ErrorIs(r.t, err, io.EOF)
}

func connectJSON(body string) string {
	return "POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func TestServeHTTP1ConnectUnaryKeepsTheConnection(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	for i := 0; i < 3; i++ {
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST",
			e.url+"/test.Echo/Echo", strings.NewReader(`"hi"`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.client.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "HTTP/1.1", resp.Proto)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.Equal(t, int64(4), resp.ContentLength, "a whole response has its length")
		require.NotEmpty(t, resp.Header.Get("Date"))
		require.JSONEq(t, `"hi"`, string(b))
	}
	require.Equal(t, []bool{false, true, true}, reused)

	pb, err := proto.Marshal(wrapperspb.String("proto"))
	require.NoError(t, err)
	resp, body := e.post(t, "/test.Echo/Echo", "application/proto", pb)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "proto", stringOf(t, body))

	resp, body = e.post(t, "/test.Echo/Echo", "application/json", []byte(`"error:5:gone"`))
	require.Equal(t, 404, resp.StatusCode)
	require.JSONEq(t, `{"code":"not_found","message":"gone"}`, string(body))
}

// Streams go out chunked, one chunk per message, the end-of-stream message
// last; a chunked request body is read as it comes.
func TestServeHTTP1Streams(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	resp, body := e.post(t, "/test.Echo/Count", "application/connect+proto", int32Envelope(t, 3))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	flags, payloads := envelopes(t, body)
	require.Equal(t, []byte{0, 0, 0, 2}, flags)
	require.Equal(t, "2", stringOf(t, payloads[2]))

	// Client streaming with a chunked request (no length known).
	pr, pw := io.Pipe()
	go func() {
		for _, s := range []string{"a", "b", "c"} {
			_, _ = pw.Write(envelope(t, s, false))
		}
		_ = pw.Close()
	}()
	req, err := http.NewRequest("POST", e.url+"/test.Echo/Concat", pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/connect+proto")
	resp2, err := e.client.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp2.Body)
	require.NoError(t, err)
	require.NoError(t, resp2.Body.Close())
	_, payloads = envelopes(t, b)
	require.Equal(t, "abc", stringOf(t, payloads[0]))

	// gRPC-Web, status in the body's last frame.
	resp, body = e.post(t, "/test.Echo/Echo", "application/grpc-web+proto", envelope(t, "web", false))
	require.Equal(t, 200, resp.StatusCode)
	flags, payloads = envelopes(t, body)
	require.Equal(t, []byte{0, 0x80}, flags)
	require.Equal(t, "web", stringOf(t, payloads[0]))
	require.Contains(t, string(payloads[1]), "grpc-status: 0")
}

func TestServeHTTP1Refusals(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	resp, _ := e.post(t, "/test.Echo/Echo", "application/grpc", envelope(t, "x", false))
	require.Equal(t, http.StatusHTTPVersionNotSupported, resp.StatusCode, "gRPC needs trailers")
	resp, _ = e.post(t, "/test.Echo/Echo", "application/xml", []byte("x"))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	req, err := http.NewRequest("PUT", e.url+"/test.Echo/Echo", strings.NewReader(`"x"`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err = e.client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "POST", resp.Header.Get("Allow"))
}

func TestServeHTTP1CORS(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, WithCORS(CORS{AllowedOrigins: []string{"https://app.example"}}))
	r := e.dial(t)
	r.send("OPTIONS /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n" +
		"Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
	resp, _ := r.response()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "https://app.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n\"hi\"")
	resp, body := r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"hi"`, body)
	require.Equal(t, "https://app.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), "Grpc-Status")
	r.send("OPTIONS /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n")
	resp, _ = r.response()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// HTTP/1.0: no chunked coding, and the connection ends after the response
// unless the client asked for keep-alive.
func TestServeHTTP1Version10(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	r := e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n\"hi\"")
	resp, body := r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"hi"`, body)
	require.Equal(t, "keep-alive", resp.Header.Get("Connection"))
	// A stream: no chunks, the body ends with the connection.
	r.send("POST /test.Echo/Count HTTP/1.0\r\nContent-Type: application/connect+proto\r\nContent-Length: 7\r\n\r\n" +
		string(int32Envelope(t, 2)))
	resp, body = r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, resp.TransferEncoding)
	flags, _ := envelopes(t, []byte(body))
	require.Equal(t, []byte{0, 0, 2}, flags)
	r.closed()

	r = e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n\"hi\"")
	resp, _ = r.response()
	require.Equal(t, 200, resp.StatusCode)
	r.closed()
}

func TestServeHTTP1ConnectionCloseAndPipelining(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	r := e.dial(t)
	// Two requests in one write: answered in order.
	r.send(connectJSON(`"one"`) + connectJSON(`"two"`))
	_, body := r.response()
	require.Equal(t, `"one"`, body)
	_, body = r.response()
	require.Equal(t, `"two"`, body)
	r.send(strings.Replace(connectJSON(`"bye"`), "Host: x\r\n", "Host: x\r\nConnection: close\r\n", 1))
	resp, body := r.response()
	require.Equal(t, `"bye"`, body)
	require.True(t, resp.Close)
	r.closed()
}

// Expect: 100-continue is answered when the call first reads the body; a
// call refused before it reads gets its answer without one, and the
// connection closes since the body never came.
func TestServeHTTP1ExpectContinue(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	r := e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	line, err := r.br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	line, err = r.br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "\r\n", line)
	r.send(`"hi"`)
	resp, body := r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"hi"`, body)
	require.False(t, resp.Close)

	r.send("POST /test.Echo/Nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	resp, _ = r.response()
	require.Equal(t, 404, resp.StatusCode)
	require.True(t, resp.Close, "the body was never asked for: the connection cannot carry another request")
	r.closed()

	r = e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n")
	resp, _ = r.response()
	require.Equal(t, http.StatusExpectationFailed, resp.StatusCode)
}

// Every malformed head gets its status and the connection is closed: what
// follows could be read as a request the client did not mean (smuggling).
func TestServeHTTP1RefusesMalformedRequests(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	const ok = "POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	for name, tc := range map[string]struct {
		req  string
		code int
	}{
		"CL and TE":          {ok + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\"hi\"\r\n0\r\n\r\n", 400},
		"conflicting CL":     {ok + "Content-Length: 4\r\nContent-Length: 5\r\n\r\n\"hi\" ", 400},
		"CL list":            {ok + "Content-Length: 4, 4\r\n\r\n\"hi\"", 400},
		"signed CL":          {ok + "Content-Length: +4\r\n\r\n\"hi\"", 400},
		"TE gzip":            {ok + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
		"two TE":             {ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		"obs-fold":           {ok + "X-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n", 400},
		"space before colon": {ok + "Content-Length : 4\r\n\r\n\"hi\"", 400},
		"bare CR":            {ok + "X-A: 1\r2\r\n\r\n", 400},
		"NUL in value":       {ok + "X-A: 1\x002\r\n\r\n", 400},
		"no Host":            {"POST /test.Echo/Echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400},
		"two Hosts":          {ok + "Host: y\r\n\r\n", 400},
		"TE in HTTP/1.0":     {"POST /test.Echo/Echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		// (The first request of a connection must say HTTP/1.0 or 1.1 for
		// h2.Server to hand it over; a later one is refused by version.)
		"HTTP/1.2":    {connectJSON(`"first"`) + "POST /test.Echo/Echo HTTP/1.2\r\nHost: x\r\n\r\n", 505},
		"long line":   {ok + "X-A: " + strings.Repeat("a", maxHTTP1Line) + "\r\n\r\n", 431},
		"long target": {"POST /" + strings.Repeat("a", maxHTTP1Line) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		"many fields": {ok + strings.Repeat("X-A: 1\r\n", maxHTTP1Fields+1) + "\r\n", 431},
		"big head":    {ok + strings.Repeat("X-A: "+strings.Repeat("a", 4000)+"\r\n", 20) + "\r\n", 431},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.dial(t)
			r.send(tc.req)
			resp, _ := r.response()
			if name == "HTTP/1.2" {
				resp, _ = r.response()
			}
			require.Equal(t, tc.code, resp.StatusCode)
			require.True(t, resp.Close)
			r.closed()
		})
	}
}

// A chunked body with a bad chunk size fails the call and ends the
// connection: the rest of the bytes are never read as a request.
func TestServeHTTP1BadChunks(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t)
	const head = "POST /test.Echo/Concat HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+proto\r\nTransfer-Encoding: chunked\r\n\r\n"
	msg := string(envelope(t, "a", false))
	for name, chunks := range map[string]string{
		"not hex":         "zz\r\n" + msg + "\r\n0\r\n\r\n",
		"too many digits": "0000000000000001\r\n" + msg + "\r\n0\r\n\r\n",
		"space in size":   " 8\r\n" + msg + "\r\n0\r\n\r\n",
		"bare LF":         "8\n" + msg + "\r\n0\r\n\r\n",
		"no CRLF after":   "8\r\n" + msg + "XX0\r\n\r\n",
		"short":           "9\r\n" + msg + "\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			r := e.dial(t)
			r.send(head + chunks + connectJSON(`"smuggled"`))
			resp, body := r.response()
			require.NotContains(t, body, "smuggled")
			require.True(t, resp.Close, "%d %s", resp.StatusCode, body)
			r.closed()
		})
	}
}

// A request body over the server's receive limit fails the call with
// RESOURCE_EXHAUSTED, and what remains is not read as a request.
func TestServeHTTP1BodyOverTheReceiveLimit(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, MaxRecvMsgSize(1000))
	big := `"` + strings.Repeat("a", 400<<10) + `"`
	r := e.dial(t)
	r.send(connectJSON(big)[:len(connectJSON(big))-len(big)])
	go func() { _, _ = io.WriteString(r.c, big) }()
	resp, body := r.response()
	require.Equal(t, 429, resp.StatusCode, body)
	require.Contains(t, body, "resource_exhausted")
	require.True(t, resp.Close, "more than the drain allowance remained")
}

// An idle keep-alive connection is closed after the idle timeout; a
// client that starts a request but dribbles its head is cut off after the
// header timeout.
func TestServeHTTP1Timeouts(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, KeepaliveParams(ServerParameters{MaxConnectionIdle: 100 * time.Millisecond}))
	r := e.dial(t)
	r.send(connectJSON(`"hi"`))
	_, body := r.response()
	require.Equal(t, `"hi"`, body)
	start := time.Now()
	r.closed()
	require.Less(t, time.Since(start), 5*time.Second)

	e2 := newH1Env(t)
	e2.srv.h1.headerTimeout = 100 * time.Millisecond
	r = e2.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\n") // and the rest never comes
	r.closed()
}

func TestServeHTTP1PeerAndTLS(t *testing.T) {
	checkNoLeaks(t)
	srvTLS, pool := selfSigned(t)
	srv := NewServer(Creds(srvTLS))
	got := make(chan *Peer, 1)
	srv.RegisterService(&echoDesc, &peerEcho{got: got})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() { srv.Stop(); <-served }()
	tr := &http.Transport{Protocols: new(http.Protocols), TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}
	tr.Protocols.SetHTTP1(true)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("POST", "https://"+l.Addr().String()+"/test.Echo/Echo", strings.NewReader(`"tls"`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, `"tls"`, string(b))
	require.Equal(t, "http/1.1", resp.TLS.NegotiatedProtocol)
	p := <-got
	require.NotNil(t, p.TLS)
	require.Equal(t, l.Addr().String(), p.LocalAddr.String())
}

// peerEcho records each call's Peer.
type peerEcho struct {
	echoImpl
	got chan *Peer
}

func (e *peerEcho) Echo(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	p, _ := PeerFromContext(ctx)
	e.got <- p
	return in, nil
}

// Shutdown closes idle HTTP/1.1 connections at once and lets a call in
// flight finish, its response saying Connection: close; Stop cuts a call
// in flight.
func TestServeHTTP1ShutdownAndStop(t *testing.T) {
	checkNoLeaks(t)
	running := make(chan struct{}, 1)
	e := newH1Env(t, UnaryInterceptor(func(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
		if req.(*wrapperspb.StringValue).GetValue() == "sleep:300ms" {
			running <- struct{}{}
		}
		return h(ctx, req)
	}))
	idle := e.dial(t)
	idle.send(connectJSON(`"warm"`))
	_, _ = idle.response()
	busy := e.dial(t)
	busy.send(connectJSON(`"sleep:300ms"`))
	<-running // the server has read the request: its call runs
	done := make(chan error, 1)
	go func() { done <- e.srv.Shutdown(context.Background()) }()
	idle.closed()
	resp, body := busy.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"sleep:300ms"`, body)
	require.True(t, resp.Close, "the client is told not to send another request")
	busy.closed()
	require.NoError(t, <-done)

	e = newH1Env(t)
	blocked := e.dial(t)
	blocked.send(connectJSON(`"block"`))
	<-e.impl.started
	e.srv.Stop()
	_, err := blocked.br.ReadByte()
	require.Error(t, err, "Stop closes connections with calls in flight")
}

// A call's metadata stays its own after the connection moved on to the
// next request: a handler (or a goroutine it started) may read it late.
func TestServeHTTP1MetadataOutlivesTheCall(t *testing.T) {
	checkNoLeaks(t)
	ctxs := make(chan context.Context, 2)
	e := newH1Env(t, UnaryInterceptor(func(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
		ctxs <- ctx
		return h(ctx, req)
	}))
	r := e.dial(t)
	for _, v := range []string{"first", "second"} {
		r.send(strings.Replace(connectJSON(`"x"`), "Host: x\r\n", "Host: x\r\nK: "+v+"\r\n", 1))
		resp, _ := r.response()
		require.Equal(t, 200, resp.StatusCode)
	}
	md, ok := metadata.FromIncomingContext(<-ctxs)
	require.True(t, ok)
	require.Equal(t, []string{"first"}, md["k"])
}
