package rpc

import (
	"bytes"

	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// httpEnv is an echo server mounted on a net/http mux beside another
// route, served by net/http's own server in one of four ways.
type httpEnv struct {
	srv    *Server
	ts     *httptest.Server
	client *http.Client
	url    string
}

// The ways net/http serves: HTTP/1.1 plain and TLS, h2c, HTTP/2 over TLS.
const (
	modeH1    = "http1"
	modeH1TLS = "http1+tls"
	modeH2C   = "h2c"
	modeH2TLS = "h2+tls"
)

var httpModes = []string{modeH1, modeH1TLS, modeH2C, modeH2TLS}

func newHTTPEnv(t *testing.T, mode string, sopts ...ServerOption) *httpEnv {
	t.Helper()
	e := &httpEnv{srv: NewServer(sopts...)}
	e.srv.RegisterService(&echoDesc, &echoImpl{})
	e.srv.RegisterService(&lookupDesc, &echoImpl{})
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.Handle("/", e.srv)
	e.ts = httptest.NewUnstartedServer(mux)
	e.ts.Config.Protocols = new(http.Protocols)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	switch mode {
	case modeH1:
		e.ts.Config.Protocols.SetHTTP1(true)
		tr.Protocols.SetHTTP1(true)
		e.ts.Start()
	case modeH2C:
		e.ts.Config.Protocols.SetUnencryptedHTTP2(true)
		tr.Protocols.SetUnencryptedHTTP2(true)
		e.ts.Start()
	case modeH1TLS, modeH2TLS:
		e.ts.Config.Protocols.SetHTTP1(true)
		e.ts.Config.Protocols.SetHTTP2(true)
		e.ts.EnableHTTP2 = mode == modeH2TLS
		e.ts.StartTLS()
		if mode == modeH2TLS {
			tr.Protocols.SetHTTP2(true)
		} else {
			tr.Protocols.SetHTTP1(true)
		}
		pool := x509.NewCertPool()
		pool.AddCert(e.ts.Certificate())
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	e.client = &http.Client{Transport: tr}
	e.url = e.ts.URL
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		e.ts.Close()
	})
	return e
}

// lookupDesc has one side-effect-free method, for Connect GET.
var lookupDesc = ServiceDesc{
	ServiceName: "test.Lookup",
	HandlerType: (*echoServer)(nil),
	Methods:     []MethodDesc{{MethodName: "Get", Handler: echoHandler, Idempotency: NoSideEffects}},
	Metadata:    "test.proto",
}

func (e *httpEnv) post(t *testing.T, path, ct string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", e.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return e.do(t, req)
}

func (e *httpEnv) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestServeHTTPConnectUnaryOnEveryTransport(t *testing.T) {
	checkNoLeaks(t)
	for _, mode := range httpModes {
		t.Run(mode, func(t *testing.T) {
			e := newHTTPEnv(t, mode)
			resp, body := e.post(t, "/test.Echo/Echo", "application/json", []byte(`"hi"`))
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.JSONEq(t, `"hi"`, string(body))
			// The mux's other route still answers.
			resp, body = e.do(t, mustRequest(t, "GET", e.url+"/healthz"))
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "ok", string(body))
		})
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	return req
}

func TestServeHTTPGRPCWithOurClient(t *testing.T) {
	checkNoLeaks(t)
	for _, mode := range []string{modeH2C, modeH2TLS} {
		t.Run(mode, func(t *testing.T) {
			e := newHTTPEnv(t, mode)
			addr := strings.TrimPrefix(strings.TrimPrefix(e.url, "http://"), "https://")
			opt := WithInsecure()
			if mode == modeH2TLS {
				pool := x509.NewCertPool()
				pool.AddCert(e.ts.Certificate())
				opt = WithTLS(&tls.Config{RootCAs: pool})
			}
			cc, err := NewClient(addr, opt)
			require.NoError(t, err)
			defer cc.Close()
			ctx := ctxTimeout(t, 5e9)
			out := new(wrapperspb.StringValue)
			require.NoError(t, cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("hello"), out))
			require.Equal(t, "hello", out.GetValue())
			err = cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("error:5:gone"), out)
			require.Equal(t, codes.NotFound, status.Code(err))
			require.Equal(t, "gone", status.Convert(err).Message())
			// JSON over gRPC is decoded as JSON, not as protobuf.
			require.NoError(t, cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("json"), out, CallContentSubtype("json")))
			require.Equal(t, "json", out.GetValue())
			// A server stream.
			st, err := cc.NewStream(ctx, &StreamDesc{ServerStreams: true}, "/test.Echo/Count")
			require.NoError(t, err)
			require.NoError(t, st.SendMsg(wrapperspb.Int32(3)))
			require.NoError(t, st.CloseSend())
			var got []string
			for {
				m := new(wrapperspb.StringValue)
				if err := st.RecvMsg(m); err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
				got = append(got, m.GetValue())
			}
			require.Equal(t, []string{"0", "1", "2"}, got)
		})
	}
}

func TestServeHTTPRefusesGRPCOverHTTP1(t *testing.T) {
	e := newHTTPEnv(t, modeH1)
	resp, _ := e.post(t, "/test.Echo/Echo", "application/grpc", envelope(t, "x", false))
	require.Equal(t, http.StatusHTTPVersionNotSupported, resp.StatusCode)
}

func TestServeHTTPUnknownCodecs(t *testing.T) {
	e := newHTTPEnv(t, modeH2C)
	for _, ct := range []string{"application/grpc+xml", "application/grpc-web+xml", "application/xml",
		"application/connect+xml", "text/plain"} {
		resp, _ := e.post(t, "/test.Echo/Echo", ct, []byte("x"))
		require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, ct)
	}
}

// envelope is s as one enveloped protobuf message.
func envelope(t *testing.T, s string, compressed bool) []byte {
	b, err := proto.Marshal(wrapperspb.String(s))
	require.NoError(t, err)
	var flag byte
	if compressed {
		b, err = gzipCompressor{}.Compress(nil, b)
		require.NoError(t, err)
		flag = 1
	}
	out := []byte{flag, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

// envelopes splits a body into its envelopes' flags and payloads.
func envelopes(t *testing.T, b []byte) (flags []byte, payloads [][]byte) {
	t.Helper()
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 5)
		n := int(binary.BigEndian.Uint32(b[1:5]))
		require.GreaterOrEqual(t, len(b), 5+n)
		flags = append(flags, b[0])
		payloads = append(payloads, b[5:5+n])
		b = b[5+n:]
	}
	return flags, payloads
}

func stringOf(t *testing.T, b []byte) string {
	m := new(wrapperspb.StringValue)
	require.NoError(t, proto.Unmarshal(b, m))
	return m.GetValue()
}

func int32Envelope(t *testing.T, n int32) []byte {
	b, err := proto.Marshal(wrapperspb.Int32(n))
	require.NoError(t, err)
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

// A call that ends without reading its HTTP/1.1 request body (an unknown
// method here) leaves the connection fit for the next request: ServeHTTP
// finishes the body, where net/http in full-duplex mode would race itself.
func TestServeHTTPReusesAnHTTP1ConnectionAfterAnUnreadBody(t *testing.T) {
	checkNoLeaks(t)
	e := newHTTPEnv(t, modeH1)
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	body := bytes.Repeat(envelope(t, "unread", false), 100)
	for i := 0; i < 3; i++ {
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST",
			e.url+"/test.Echo/Nope", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/connect+proto")
		resp, _ := e.do(t, req)
		require.Equal(t, 200, resp.StatusCode)
		require.False(t, resp.Close, "a short unread body is drained, and the connection kept")
	}
	require.Equal(t, []bool{false, true, true}, reused)
}

// A body too long to finish (over net/http's 256 KiB allowance) closes the
// connection instead: its rest is never read as the next request. (The
// client may see the close before the answer while it is still sending:
// HTTP/1.1 cannot do better; the next call must work, on a new connection.)
func TestServeHTTPClosesAnHTTP1ConnectionAfterALongUnreadBody(t *testing.T) {
	checkNoLeaks(t)
	e := newHTTPEnv(t, modeH1)
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	post := func(body []byte) (*http.Response, []byte, error) {
		// No length: a chunked body, which net/http cannot skip by its size.
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST",
			e.url+"/test.Echo/Nope", struct{ io.Reader }{bytes.NewReader(body)})
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/connect+proto")
		resp, err := e.client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp, out, err
	}
	long := bytes.Repeat(envelope(t, strings.Repeat("x", 1000), false), 2000) // 2 MB
	if resp, _, err := post(long); err == nil {
		require.Equal(t, 200, resp.StatusCode)
		// Said in the response: the client must not send its next
		// request on a connection the server is about to close.
		require.True(t, resp.Close, "the answer to an unfinished request says Connection: close")
	}
	resp, out, err := post(envelope(t, "next", false))
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	_, payloads := envelopes(t, out)
	_, callErr, err := parseConnectEndStream(payloads[len(payloads)-1])
	require.NoError(t, err)
	require.Equal(t, codes.Unimplemented, status.Code(callErr.status()))
	require.Equal(t, []bool{false, false}, reused)
}
