package h2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests run our Transport against net/http's own HTTP/2 server, over
// TLS and over unencrypted HTTP/2 (h2c with prior knowledge).

func netHTTPServer(t *testing.T, h http.Handler, tlsOn bool) (string, *Transport) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	tr := &Transport{}
	if tlsOn {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	} else {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		srv.Start()
		tr.AllowHTTP = true
	}
	t.Cleanup(srv.Close)
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, tr
}

// echoHandler echoes the body, the request's protocol and trailers.
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Proto", r.Proto)
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("Trailer", "X-Echo-Bytes")
	n, _ := io.Copy(w, r.Body)
	w.Header().Set("X-Echo-Bytes", strings.Repeat("x", int(n%10))+"!")
	w.Header().Set(http.TrailerPrefix+"X-Request-Trailer", r.Trailer.Get("X-Sum"))
})

func TestTransportAgainstNetHTTPServer(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "h2c", true: "tls"}[tlsOn], func(t *testing.T) {
			goroutineLeakCheck(t)
			base, tr := netHTTPServer(t, echoHandler, tlsOn)
			c := &http.Client{Transport: tr}

			res, err := c.Get(base + "/get")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, res.Body)
			require.NoError(t, res.Body.Close())
			require.Equal(t, "HTTP/2.0", res.Header.Get("X-Proto"), "net/http served it over HTTP/2")
			require.Equal(t, "HTTP/2.0", res.Proto)
			require.Equal(t, strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://"), res.Header.Get("X-Host"))
			require.Equal(t, tlsOn, res.TLS != nil)

			// A streamed body with a request trailer; the response's
			// trailers (declared and TrailerPrefix) come back.
			pr, pw := io.Pipe()
			req := mustRequest(t, "POST", base+"/post", pr)
			req.Trailer = http.Header{"X-Sum": nil}
			go func() {
				for range 100 {
					_, _ = pw.Write([]byte("0123456789"))
				}
				req.Trailer.Set("X-Sum", "1000 bytes")
				_ = pw.Close()
			}()
			res, err = c.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			require.Equal(t, strings.Repeat("0123456789", 100), string(body))
			require.Equal(t, "!", res.Trailer.Get("X-Echo-Bytes"))
			require.Equal(t, "1000 bytes", res.Trailer.Get("X-Request-Trailer"))
		})
	}
}

func TestTransportCancelAgainstNetHTTPServer(t *testing.T) {
	goroutineLeakCheck(t)
	entered := make(chan struct{})
	sawCancel := make(chan error, 1)
	base, tr := netHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		sawCancel <- r.Context().Err()
	}), false)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	_, err := tr.RoundTrip(mustRequest(t, "GET", base+"/", nil).WithContext(ctx))
	require.Equal(t, context.Canceled, err)
	require.Error(t, <-sawCancel, "the server saw the stream reset")
}
