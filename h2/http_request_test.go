package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHTTPRequestFields(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		bodies <- string(b)
		got <- r.Clone(context.Background())
	}))
	req, err := http.NewRequest("PUT", base+"/a%20b/c?q=1&r=two", strings.NewReader("payload"))
	require.NoError(t, err)
	req.Host = "example.test:8443"
	req.Header.Set("X-Custom-Thing", "v1")
	req.Header.Add("X-Custom-Thing", "v2")
	res, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	r := <-got
	require.Equal(t, "payload", <-bodies)
	require.Equal(t, "PUT", r.Method)
	require.Equal(t, "/a b/c", r.URL.Path)
	require.Equal(t, "/a%20b/c", r.URL.EscapedPath())
	require.Equal(t, "q=1&r=two", r.URL.RawQuery)
	require.Equal(t, "/a%20b/c?q=1&r=two", r.RequestURI)
	require.Equal(t, "example.test:8443", r.Host, "Host comes from :authority")
	require.Equal(t, []string{"v1", "v2"}, r.Header["X-Custom-Thing"], "canonical names, values in order")
	require.Equal(t, int64(7), r.ContentLength)
	require.Equal(t, "HTTP/2.0", r.Proto)
	require.Equal(t, 2, r.ProtoMajor)
	require.Equal(t, 0, r.ProtoMinor)
	require.True(t, r.ProtoAtLeast(2, 0))
	require.Contains(t, r.RemoteAddr, "127.0.0.1:")
	require.Nil(t, r.TLS)
}

func TestHTTPRequestWithoutBody(t *testing.T) {
	goroutineLeakCheck(t)
	type seen struct {
		noBody bool
		cl     int64
		path   string
		query  bool
	}
	got := make(chan seen, 1)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Body == http.NoBody, r.ContentLength, r.URL.Path, r.URL.ForceQuery}
	}))
	res, err := client.Get(base + "/plain?")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, seen{true, 0, "/plain", true}, <-got)
}

// The h2 client sends what net/http's would not: a cookie split across
// fields (RFC 9113 §8.2.3) and a body of unknown length.
func TestHTTPRequestCookiesAndUnknownLength(t *testing.T) {
	goroutineLeakCheck(t)
	type seen struct {
		cookie string
		cl     int64
		body   string
		host   string
	}
	got := make(chan seen, 1)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{strings.Join(r.Header.Values("Cookie"), "|"), r.ContentLength, string(b), r.Host + "|" + r.Header.Get("Host")}
	})})
	c := dialTest(t, addr, nil)
	hdr := post("/")
	hdr.Add("host", "from-header.test") // :authority, filled by the client, wins; Host is no header
	hdr.Add("cookie", "a=1")
	hdr.Add("cookie", "b=2")
	st, err := c.Request(ctxT(t), hdr, &RequestOptions{Body: []byte("streamed"), EndStream: true})
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	require.Equal(t, seen{"a=1; b=2", -1, "streamed", addr + "|"}, <-got)
}

func TestHTTPRequestTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan http.Header, 2)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Trailer.Clone() // declared before the body is read: values still empty
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Trailer
	}))
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", base+"/", pr)
	require.NoError(t, err)
	req.Trailer = http.Header{"X-Checksum": nil}
	go func() {
		_, _ = pw.Write([]byte("body"))
		req.Trailer.Set("X-Checksum", "abc123")
		_ = pw.Close()
	}()
	res, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.Header{"X-Checksum": nil}, <-got)
	require.Equal(t, "abc123", (<-got).Get("X-Checksum"))
}

// A handler that does not read holds the client back: the body is not
// buffered whole on the server, flow control stops the sender.
func TestHTTPRequestBodyBackpressure(t *testing.T) {
	goroutineLeakCheck(t)
	release := make(chan struct{})
	received := make(chan int, 1)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		n, _ := io.Copy(io.Discard, r.Body)
		received <- int(n)
	}), Options: Options{Settings: Settings{InitialWindowSize: 64 << 10}}})
	c := dialTest(t, addr, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	body := bytes.Repeat([]byte("x"), 1<<20) // far more than the stream window
	sent := make(chan int, 1)
	go func() {
		n, _ := st.Write(body)
		_ = st.CloseWrite()
		sent <- n
	}()
	select {
	case n := <-sent:
		t.Fatalf("the client wrote all %d bytes while the handler read nothing", n)
	case <-time.After(200 * time.Millisecond):
	}
	window := int(c.RemoteSettings().InitialWindowSize)
	require.Less(t, window, len(body))
	close(release)
	require.Equal(t, len(body), <-sent)
	require.Equal(t, len(body), <-received)
}

func TestHTTPRequestContextCanceledOnReset(t *testing.T) {
	goroutineLeakCheck(t)
	started := make(chan struct{})
	canceled := make(chan error, 1)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		canceled <- r.Context().Err()
	})})
	c := dialTest(t, addr, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	<-started
	st.Reset(ErrCodeCancel)
	require.ErrorIs(t, <-canceled, context.Canceled)
}

func TestHTTPRequestContextCanceledOnDisconnect(t *testing.T) {
	goroutineLeakCheck(t)
	started := make(chan struct{})
	canceled := make(chan struct{})
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(canceled)
	})})
	c := dialTest(t, addr, nil)
	_, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	<-started
	require.NoError(t, c.Conn().Close())
	<-canceled
}

func TestHTTPExpectContinue(t *testing.T) {
	goroutineLeakCheck(t)
	read := make(chan struct{})
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-read
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})})
	c := dialTest(t, addr, nil)
	continued := make(chan struct{})
	hdr := post("/")
	hdr.Add("expect", "100-continue")
	st, err := c.Request(ctxT(t), hdr, &RequestOptions{OnInformational: func(h Header) {
		if h.Get(":status") == "100" {
			close(continued)
		}
	}})
	require.NoError(t, err)
	select {
	case <-continued:
		t.Fatal("100 Continue before the handler read the body")
	case <-time.After(100 * time.Millisecond):
	}
	close(read)
	<-continued
	_, err = st.End([]byte("after continue"), nil)
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "after continue", string(b))
}

func TestHTTPRequestTLS(t *testing.T) {
	goroutineLeakCheck(t)
	cert, _, _, _ := selfSigned(t)
	got := make(chan *tls.ConnectionState, 1)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.TLS
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	res, err := tlsClient(t, true).Get("https://" + addr + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "HTTP/2.0", res.Proto)
	cs := <-got
	require.NotNil(t, cs)
	require.True(t, cs.HandshakeComplete)
	require.Equal(t, "h2", cs.NegotiatedProtocol)
}

func TestHTTPReadDeadline(t *testing.T) {
	goroutineLeakCheck(t)
	readErr := make(chan error, 1)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		require.NoError(t, rc.EnableFullDuplex())
		require.NoError(t, rc.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
		_, err := io.ReadAll(r.Body)
		readErr <- err
		// The write side is not affected by the read deadline.
		_, err = fmt.Fprint(w, "still writing")
		require.NoError(t, err)
	})})
	c := dialTest(t, addr, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	require.True(t, errors.Is(<-readErr, os.ErrDeadlineExceeded))
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "still writing", string(b))
}

// A context derived from the request's is canceled with it, and one kept
// past the handler reads as canceled.
func TestHTTPRequestContextDerivedAndKept(t *testing.T) {
	goroutineLeakCheck(t)
	kept := make(chan context.Context, 1)
	childErr := make(chan error, 1)
	started := make(chan struct{})
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/kept" {
			require.NoError(t, r.Context().Err())
			kept <- r.Context()
			return
		}
		child, cancel := context.WithTimeout(r.Context(), time.Hour)
		defer cancel()
		close(started)
		<-child.Done()
		childErr <- child.Err()
	})})
	c := dialTest(t, addr, nil)
	st, err := c.Request(ctxT(t), post("/child"), nil)
	require.NoError(t, err)
	<-started
	st.Reset(ErrCodeCancel)
	require.ErrorIs(t, <-childErr, context.Canceled)

	st, err = c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/kept"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	ctx := <-kept
	<-ctx.Done()
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

func TestHTTPRequestTargets(t *testing.T) {
	for target, want := range map[string]string{
		"/a/b?x=1":   "/a/b x=1",
		"/a%2Fb?x=1": "/a/b x=1",
		"/p?":        "/p ",
		"*":          "* ",
	} {
		var u url.URL
		require.True(t, parseRequestTarget(&u, target), target)
		require.Equal(t, want, u.Path+" "+u.RawQuery, target)
	}
	for _, bad := range []string{"", "/a\x7fb", "/a\x01b", "/%zz"} {
		var u url.URL
		require.False(t, parseRequestTarget(&u, bad), "%q", bad)
	}
}

// The body's first Read (which answers 100-continue) may run beside the
// handler's writes: full duplex through ResponseController.
func TestHTTPExpectContinueFullDuplex(t *testing.T) {
	goroutineLeakCheck(t)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, http.NewResponseController(w).EnableFullDuplex())
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(r.Body)
			got <- string(b)
		}()
		_, _ = io.WriteString(w, "headers first;")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, <-got)
	})})
	c := dialTest(t, addr, nil)
	hdr := post("/")
	hdr.Add("expect", "100-continue")
	st, err := c.Request(ctxT(t), hdr, nil)
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "200", h.Get(":status"))
	_, err = st.End([]byte("then the body"), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, "headers first;then the body", string(b))
}
