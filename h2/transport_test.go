package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// transportServer serves h with our Server (over TLS when tlsOn) and returns
// the base URL and a Transport set up to reach it; both are closed at cleanup.
func transportServer(t *testing.T, h Handler, tlsOn bool, setup func(*Server)) (string, *Transport) {
	t.Helper()
	srv := &Server{Handler: h}
	tr := &Transport{AllowHTTP: true}
	scheme := "http"
	if tlsOn {
		cert, pool, _, _ := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		scheme = "https"
	}
	if setup != nil {
		setup(srv)
	}
	addr := newTestServer(t, srv)
	t.Cleanup(tr.CloseIdleConnections) // runs before the server's cleanup
	return scheme + "://" + addr, tr
}

// echoHeaders answers with the request's method, path, authority and fields
// as response fields, and its body echoed.
var echoHeaders = HandlerFunc(func(st *Stream) {
	hdr := Header{{Name: ":status", Value: "200"},
		{Name: "x-method", Value: st.Method()}, {Name: "x-path", Value: st.Path()},
		{Name: "x-authority", Value: st.Authority()}, {Name: "x-scheme", Value: st.Scheme()}}
	for _, f := range st.Header() {
		if !strings.HasPrefix(f.Name, ":") {
			hdr = append(hdr, HeaderField{Name: "x-got-" + f.Name, Value: f.Value})
		}
	}
	body, _ := io.ReadAll(st)
	hdr = append(hdr, HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
	_ = st.Respond(hdr, &RespondOptions{Body: body})
})

func TestTransportGetH2CAndTLS(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "h2c", true: "tls"}[tlsOn], func(t *testing.T) {
			goroutineLeakCheck(t)
			base, tr := transportServer(t, echoHeaders, tlsOn, nil)
			c := &http.Client{Transport: tr}
			res, err := c.Get(base + "/hello?q=1")
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, 200, res.StatusCode)
			require.Equal(t, "200 OK", res.Status)
			require.Equal(t, "HTTP/2.0", res.Proto)
			require.Equal(t, 2, res.ProtoMajor)
			require.Equal(t, "GET", res.Header.Get("X-Method"))
			require.Equal(t, "/hello?q=1", res.Header.Get("X-Path"))
			require.Equal(t, strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://"), res.Header.Get("X-Authority"))
			require.EqualValues(t, 0, res.ContentLength)
			if tlsOn {
				require.Equal(t, "https", res.Header.Get("X-Scheme"))
				require.NotNil(t, res.TLS)
				require.Equal(t, "h2", res.TLS.NegotiatedProtocol)
			} else {
				require.Equal(t, "http", res.Header.Get("X-Scheme"))
				require.Nil(t, res.TLS)
			}
			// A second request reuses the session.
			res2, err := c.Post(base+"/echo", "text/plain", strings.NewReader("hello body"))
			require.NoError(t, err)
			body, err := io.ReadAll(res2.Body)
			require.NoError(t, err)
			require.NoError(t, res2.Body.Close())
			require.Equal(t, "hello body", string(body))
			require.EqualValues(t, len("hello body"), res2.ContentLength)
			require.Equal(t, "10", res2.Header.Get("X-Got-Content-Length"))
			require.Equal(t, "text/plain", res2.Header.Get("X-Got-Content-Type"))
		})
	}
}

func TestTransportHTTPNeedsAllowHTTP(t *testing.T) {
	goroutineLeakCheck(t)
	base, _ := transportServer(t, echoHeaders, false, nil)
	_, err := (&http.Client{Transport: &Transport{}}).Get(base + "/")
	require.ErrorContains(t, err, "AllowHTTP")
}

func TestTransportHeadersOnTheWayOut(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, echoHeaders, false, nil)
	req, err := http.NewRequest("GET", base+"/h", nil)
	require.NoError(t, err)
	req.Host = "virtual.example:8080"
	req.Header.Set("Connection", "keep-alive, X-Hop")
	req.Header.Set("X-Hop", "dropped: named by Connection")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Transfer-Encoding", "chunked")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("TE", "gzip")
	req.Header.Set("X-Kept", "yes")
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "virtual.example:8080", res.Header.Get("X-Authority"))
	require.Equal(t, "yes", res.Header.Get("X-Got-X-Kept"))
	for _, name := range []string{"Connection", "X-Hop", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Te", "Host"} {
		require.Empty(t, res.Header.Values("X-Got-"+name), name)
	}
	require.Empty(t, res.Header.Values("X-Got-User-Agent"), "no default User-Agent is forced")

	req.Header = http.Header{"User-Agent": {"mine/1.0"}}
	res, err = tr.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "mine/1.0", res.Header.Get("X-Got-User-Agent"))
}

func TestTransportSharesOneDial(t *testing.T) {
	goroutineLeakCheck(t)
	var sessions atomic.Int32
	base, tr := transportServer(t, echoHeaders, false, func(s *Server) {
		s.OnSession = func(*Session) { sessions.Add(1) }
	})
	var dials atomic.Int32
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	const n = 20
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil))
			if err == nil {
				err = res.Body.Close()
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		require.NoError(t, <-errs)
	}
	require.EqualValues(t, 1, dials.Load(), "concurrent first requests share one dial")
	require.EqualValues(t, 1, sessions.Load())

	// httptrace's GotConn tells the session's connection and that it is reused.
	var got httptrace.GotConnInfo
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { got = i }})
	res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil).WithContext(ctx))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.True(t, got.Reused)
	require.NotNil(t, got.Conn)
	require.Equal(t, strings.TrimPrefix(base, "http://"), got.Conn.RemoteAddr().String())
}

func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	return req
}

func TestTransportALPNWithoutH2(t *testing.T) {
	goroutineLeakCheck(t)
	cert, pool, _, _ := selfSigned(t)
	// A TLS server that speaks only HTTP/1.1.
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	require.NoError(t, err)
	h1 := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Proto+string(body))
	}), ErrorLog: log.New(io.Discard, "", 0)} // the refused handshakes are expected
	go func() { _ = h1.Serve(l) }()
	t.Cleanup(func() { _ = h1.Close() })
	url := "https://" + l.Addr().String() + "/"

	tr := &Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	_, err = tr.RoundTrip(mustRequest(t, "GET", url, nil))
	require.ErrorIs(t, err, ErrNotNegotiatedH2, "a server that refuses the handshake over ALPN")

	// A server that ignores ALPN completes the handshake without a protocol.
	l0, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	h0 := &http.Server{Handler: http.NotFoundHandler(), TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	go func() { _ = h0.Serve(l0) }()
	t.Cleanup(func() { _ = h0.Close() })
	_, err = tr.RoundTrip(mustRequest(t, "GET", "https://"+l0.Addr().String()+"/", nil))
	require.ErrorIs(t, err, ErrNotNegotiatedH2, "a server that chose no protocol")
	require.ErrorContains(t, err, `chose ""`)

	fallback := &closeCounter{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tr = &Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, HTTP1: fallback}
	for range 2 { // the second goes straight to HTTP/1
		// A small body is read ahead for HTTP/2; HTTP/1 gets it whole too.
		res, err := tr.RoundTrip(mustRequest(t, "POST", url, strings.NewReader(" with a body")))
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		require.NoError(t, res.Body.Close())
		require.Equal(t, "HTTP/1.1 with a body", string(body))
		require.Equal(t, 1, res.ProtoMajor)
	}
	tr.CloseIdleConnections()
	require.EqualValues(t, 1, fallback.closes.Load(), "CloseIdleConnections reaches the HTTP/1 transport")
}

// closeCounter counts the CloseIdleConnections calls of an http.Transport.
type closeCounter struct {
	*http.Transport
	closes atomic.Int32
}

func (c *closeCounter) CloseIdleConnections() {
	c.closes.Add(1)
	c.Transport.CloseIdleConnections()
}

func TestTransportH2CToHTTP1Server(t *testing.T) {
	goroutineLeakCheck(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h1 := &http.Server{Handler: http.NotFoundHandler()}
	go func() { _ = h1.Serve(l) }()
	t.Cleanup(func() { _ = h1.Close() })
	tr := &Transport{AllowHTTP: true}
	_, err = tr.RoundTrip(mustRequest(t, "GET", "http://"+l.Addr().String()+"/", nil))
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrPeerNotHTTP2) || errors.Is(err, ErrConnectionLost), "got %v", err)
}

func TestTransportResponseContentLengthAndTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "201"}, {Name: "trailer", Value: "X-Checksum, x-count"}}, nil)
		_, _ = st.Write([]byte("part one, "))
		_, _ = st.Write([]byte("part two"))
		_ = st.WriteTrailers(Header{{Name: "x-checksum", Value: "abc"}, {Name: "x-count", Value: "2"}})
	}), false, nil)
	res, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil))
	require.NoError(t, err)
	require.Equal(t, 201, res.StatusCode)
	require.EqualValues(t, -1, res.ContentLength)
	require.Equal(t, http.Header{"X-Checksum": nil, "X-Count": nil}, res.Trailer, "declared trailers, values to come")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "part one, part two", string(body))
	require.Equal(t, "abc", res.Trailer.Get("X-Checksum"))
	require.Equal(t, "2", res.Trailer.Get("X-Count"))
	require.NoError(t, res.Body.Close())

	// Undeclared trailers appear at EOF too; a known length is reported.
	base2, tr2 := transportServer(t, HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "content-length", Value: "5"}},
			&RespondOptions{Body: []byte("hello"), Trailers: Header{{Name: "x-late", Value: "yes"}}})
	}), false, nil)
	res, err = tr2.RoundTrip(mustRequest(t, "GET", base2+"/", nil))
	require.NoError(t, err)
	require.EqualValues(t, 5, res.ContentLength)
	require.Nil(t, res.Trailer)
	_, err = io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	require.Equal(t, "yes", res.Trailer.Get("X-Late"))
	require.NoError(t, res.Body.Close())
}

// TestTransportRequestBodyStreams shows the request body is neither buffered
// whole nor sent after the fact: each chunk is echoed back before the next is
// written, through one exchange.
func TestTransportRequestBodyStreams(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = io.Copy(st, st)
	}), false, nil)
	pr, pw := io.Pipe()
	res, err := tr.RoundTrip(mustRequest(t, "POST", base+"/echo", pr))
	require.NoError(t, err)
	buf := make([]byte, 64)
	for i := range 5 {
		msg := "chunk " + strconv.Itoa(i)
		_, err := pw.Write([]byte(msg))
		require.NoError(t, err)
		n, err := io.ReadAtLeast(res.Body, buf, len(msg))
		require.NoError(t, err)
		require.Equal(t, msg, string(buf[:n]))
	}
	require.NoError(t, pw.Close())
	rest, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Empty(t, rest)
	require.NoError(t, res.Body.Close())
}

// TestTransportLargeBodiesWithFlowControl sends and receives bodies many
// times larger than the stream and connection windows.
func TestTransportLargeBodiesWithFlowControl(t *testing.T) {
	goroutineLeakCheck(t)
	var got atomic.Int64
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		n, _ := io.Copy(io.Discard, st)
		got.Store(n)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		chunk := bytes.Repeat([]byte("r"), 64<<10)
		for range 64 {
			if _, err := st.Write(chunk); err != nil {
				return
			}
		}
	}), false, func(s *Server) {
		s.Options.Settings.InitialWindowSize = 65535
		s.Options.ConnWindowSize = 65535
	})
	tr.Options.Settings.InitialWindowSize = 65535
	tr.Options.ConnWindowSize = 65535
	const size = 6 << 20
	req := mustRequest(t, "PUT", base+"/big", io.NopCloser(io.LimitReader(zeroReader{}, size)))
	req.ContentLength = size
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	require.EqualValues(t, 4<<20, n)
	require.EqualValues(t, size, got.Load())
	require.NoError(t, res.Body.Close())
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestTransportRequestContentLength(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, echoHeaders, false, nil)
	pr, pw := io.Pipe()
	req := mustRequest(t, "POST", base+"/", pr)
	req.ContentLength = 11
	go func() {
		_, _ = pw.Write([]byte("hello world"))
		_ = pw.Close()
	}()
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "11", res.Header.Get("X-Got-Content-Length"))
	require.Equal(t, "hello world", string(body))

	// A body shorter or longer than its ContentLength fails the request.
	for _, tc := range []struct {
		body string
		want string
	}{{"short", "shorter than its ContentLength"}, {"far too long for it", "longer than its ContentLength"}} {
		req := mustRequest(t, "POST", base+"/", io.NopCloser(strings.NewReader(tc.body)))
		req.ContentLength = 11
		res, err := tr.RoundTrip(req)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			_ = res.Body.Close()
		}
		require.ErrorContains(t, err, tc.want)
	}
}

func TestTransportRequestTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	base, tr := transportServer(t, HandlerFunc(func(st *Stream) {
		body, _ := io.ReadAll(st)
		_ = st.Respond(Header{{Name: ":status", Value: "200"},
			{Name: "x-declared", Value: st.Header().Get("trailer")},
			{Name: "x-body", Value: string(body)},
			{Name: "x-trailer", Value: st.Trailers().Get("x-digest")}}, &RespondOptions{EndStream: true})
	}), false, nil)
	pr, pw := io.Pipe()
	req := mustRequest(t, "POST", base+"/", pr)
	req.Trailer = http.Header{"X-Digest": nil}
	go func() {
		_, _ = pw.Write([]byte("payload"))
		req.Trailer.Set("X-Digest", "d1g3st") // known only once the body is written
		_ = pw.Close()
	}()
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "x-digest", res.Header.Get("X-Declared"))
	require.Equal(t, "payload", res.Header.Get("X-Body"))
	require.Equal(t, "d1g3st", res.Header.Get("X-Trailer"))
}

func TestTransportResponseHeaderConversion(t *testing.T) {
	h := responseHeader(Header{{Name: ":status", Value: "200"}, {Name: "set-cookie", Value: "a=1"},
		{Name: "content-type", Value: "text/plain"}, {Name: "set-cookie", Value: "b=2"}, {Name: "x-custom", Value: "v"}})
	require.Equal(t, http.Header{"Set-Cookie": {"a=1", "b=2"}, "Content-Type": {"text/plain"}, "X-Custom": {"v"}}, h)
	h["Content-Type"] = append(h["Content-Type"], "more") // values do not share room with their neighbours
	require.Equal(t, []string{"v"}, h["X-Custom"])
	require.Equal(t, []string{"a=1", "b=2"}, h["Set-Cookie"])
	require.Equal(t, "200 OK", statusLine(200))
	require.Equal(t, "599 ", statusLine(599))
	require.Equal(t, "1000 ", statusLine(1000))
}
