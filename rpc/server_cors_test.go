package rpc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCORSPreflightAndExposedHeaders(t *testing.T) {
	srv := NewServer(WithCORS(CORS{AllowedOrigins: []string{"https://app.example"}, ExposedHeaders: []string{"X-Mine"},
		AllowedHeaders: []string{"X-Token"}, MaxAge: time.Hour}))
	srv.RegisterService(&echoDesc, &echoImpl{})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	req, _ := http.NewRequest("OPTIONS", ts.URL+"/test.Echo/Echo", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,connect-protocol-version")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "https://app.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	allowed := resp.Header.Get("Access-Control-Allow-Headers")
	for _, h := range []string{"Connect-Protocol-Version", "Connect-Timeout-Ms", "Grpc-Timeout", "X-Grpc-Web", "X-Token"} {
		require.Contains(t, allowed, h)
	}
	require.Equal(t, "3600", resp.Header.Get("Access-Control-Max-Age"))

	// The call itself exposes what the protocols' clients read.
	req, _ = http.NewRequest("POST", ts.URL+"/test.Echo/Echo", strings.NewReader(`"hi"`))
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	exposed := resp.Header.Get("Access-Control-Expose-Headers")
	require.Contains(t, exposed, "Grpc-Status")
	require.Contains(t, exposed, "X-Mine")

	// Another origin gets no permission.
	req, _ = http.NewRequest("OPTIONS", ts.URL+"/test.Echo/Echo", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestRequestInfoAndPeerOverHTTP(t *testing.T) {
	got := make(chan RequestInfo, 1)
	peers := make(chan *Peer, 1)
	srv := NewServer(UnaryInterceptor(func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		ri, _ := RequestInfoFromContext(ctx)
		got <- ri
		p, _ := PeerFromContext(ctx)
		peers <- p
		return h(ctx, req)
	}))
	srv.RegisterService(&lookupDesc, &echoImpl{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/test.Lookup/Get?encoding=json&message=%22q%22")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	ri := <-got
	require.Equal(t, "connect", ri.Protocol)
	require.Equal(t, "GET", ri.HTTPMethod)
	require.Equal(t, "json", ri.Query.Get("encoding"))
	p := <-peers
	require.Contains(t, p.Addr.String(), "127.0.0.1:")
	require.Equal(t, ts.Listener.Addr().String(), p.LocalAddr.String())

	resp, err = http.Post(ts.URL+"/test.Lookup/Get", "application/grpc-web", strings.NewReader(string(envelope(t, "x", false))))
	require.NoError(t, err)
	resp.Body.Close()
	ri = <-got
	<-peers
	require.Equal(t, RequestInfo{Protocol: "grpc-web", HTTPMethod: "POST"}, ri)
}
