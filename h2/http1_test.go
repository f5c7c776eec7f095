package h2

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// protoHandler answers with the protocol the request came in on.
var protoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, r.Proto)
})

func getBody(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func TestAllowHTTP1Cleartext(t *testing.T) {
	goroutineLeakCheck(t)
	addr := newTestServer(t, &Server{HTTP: protoHandler, AllowHTTP1: true})
	require.Equal(t, "HTTP/2.0", getBody(t, h2cClient(t), "http://"+addr+"/"))
	h1 := &http.Transport{}
	t.Cleanup(h1.CloseIdleConnections)
	require.Equal(t, "HTTP/1.1", getBody(t, &http.Client{Transport: h1}, "http://"+addr+"/"))
}

// "Upgrade: h2c" is not honoured: the request is answered in HTTP/1.1.
func TestAllowHTTP1RefusesH2CUpgrade(t *testing.T) {
	goroutineLeakCheck(t)
	addr := newTestServer(t, &Server{HTTP: protoHandler, AllowHTTP1: true})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1", string(b))
}

func TestAllowHTTP1OverTLS(t *testing.T) {
	goroutineLeakCheck(t)
	cert, _, _, _ := selfSigned(t)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto+" "+r.TLS.NegotiatedProtocol)
	}), AllowHTTP1: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	require.Equal(t, "HTTP/2.0 h2", getBody(t, tlsClient(t, true), "https://"+addr+"/"))
	require.Equal(t, "HTTP/1.1 http/1.1", getBody(t, tlsClient(t, false), "https://"+addr+"/"))

	// A client without ALPN is served HTTP/1.1 too.
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, "", c.ConnectionState().NegotiatedProtocol)
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "HTTP/1.1 ", string(b))
}

func TestUnknownProtocolCleartext(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan string, 1)
	logs := &logRecorder{}
	addr := newTestServer(t, &Server{HTTP: protoHandler, ErrorLog: logs.logf, OnUnknownProtocol: func(c net.Conn) {
		b := make([]byte, 16)
		n, _ := io.ReadFull(c, b[:len("GET / HTTP/1.1\r\n")])
		got <- string(b[:n])
		_ = c.Close()
	}})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, "GET / HTTP/1.1\r\n", <-got, "the hook reads the bytes the server sniffed")
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	n, err := c.Read(make([]byte, 64))
	require.Equal(t, 0, n, "a clean close: nothing written")
	require.ErrorIs(t, err, io.EOF)
	require.Empty(t, logs.get())
}

// Without a hook the connection is closed at once; with a hook that keeps
// it, the server closes it after UnknownProtocolTimeout.
func TestUnknownProtocolClosed(t *testing.T) {
	goroutineLeakCheck(t)
	cert, _, _, _ := selfSigned(t)
	for _, hook := range []bool{false, true} {
		called := make(chan bool, 1)
		srv := &Server{HTTP: protoHandler, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
			UnknownProtocolTimeout: 50 * time.Millisecond}
		if hook {
			srv.OnUnknownProtocol = func(c net.Conn) {
				_, isTLS := c.(*tls.Conn)
				called <- isTLS
			}
		}
		addr := newTestServer(t, srv)
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(waitLong))
		n, err := c.Read(make([]byte, 64))
		require.Equal(t, 0, n)
		require.Error(t, err, "closed")
		require.NoError(t, c.Close())
		if hook {
			require.True(t, <-called, "the hook gets the *tls.Conn")
		}
	}
}

func TestCleartextSilentClientClosed(t *testing.T) {
	goroutineLeakCheck(t)
	addr := newTestServer(t, &Server{HTTP: protoHandler, UnknownProtocolTimeout: 50 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, ClientPreface[:10]) // and then nothing
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	_, err = c.Read(make([]byte, 64))
	require.ErrorIs(t, err, io.EOF)
}

func TestRequestLineKind(t *testing.T) {
	for in, want := range map[string]firstBytes{
		"GET / HTTP/1.1\r\n":                          firstHTTP1,
		"OPTIONS * HTTP/1.0\n":                        firstHTTP1,
		"M-SEARCH * HTTP/1.1\r\nHost: x":              firstHTTP1,
		"GET /" + strings.Repeat("a", maxRequestLine): firstHTTP1,   // too long: net/http answers 414
		"INVALID CONNECTION PREFACE\r\n":              firstUnknown, // h2spec's invalid preface
		"GET / HTTP/2.0\r\n":                          firstUnknown,
		"\x16\x03\x01":                                firstUnknown, // a TLS ClientHello on a cleartext port
		"get / HTTP/1.1\r\n":                          firstUnknown,
		" / HTTP/1.1\r\n":                             firstUnknown,
		strings.Repeat("A", maxMethodLen+1) + " ":     firstUnknown,
	} {
		kind, ok := requestLineKind([]byte(in))
		require.True(t, ok, in)
		require.Equal(t, want, kind, in)
	}
	for _, in := range []string{"POS", "POST /upload HTTP/1."} {
		_, ok := requestLineKind([]byte(in))
		require.False(t, ok, "undecided before the end of the line: %q", in)
	}
}

// Shutdown lets an HTTP/1 request in flight finish, then returns; the
// HTTP/1 connections end with the HTTP/2 sessions.
func TestAllowHTTP1Shutdown(t *testing.T) {
	goroutineLeakCheck(t)
	inHandler := make(chan struct{})
	release := make(chan struct{})
	srv := &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		_, _ = io.WriteString(w, "finished")
	}), AllowHTTP1: true}
	addr := newTestServer(t, srv)
	h1 := &http.Transport{}
	t.Cleanup(h1.CloseIdleConnections)
	got := make(chan string, 1)
	go func() {
		res, err := (&http.Client{Transport: h1}).Get("http://" + addr + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		got <- string(b)
	}()
	<-inHandler
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctxT(t)) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while an HTTP/1 request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	require.Equal(t, "finished", <-got)
	require.NoError(t, <-shut)
}

// Without a hook (and without AllowHTTP1), a cleartext client that does not
// send the preface gets GOAWAY(PROTOCOL_ERROR) and a close (RFC 9113 §3.4),
// and nothing is logged.
func TestUnknownProtocolCleartextWithoutHook(t *testing.T) {
	goroutineLeakCheck(t)
	logs := &logRecorder{}
	addr := newTestServer(t, &Server{HTTP: protoHandler, ErrorLog: logs.logf})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	var goAway []byte
	for goAway == nil {
		h := make([]byte, frameHeaderLen)
		if _, err := io.ReadFull(c, h); err != nil {
			break
		}
		fh := parseFrameHeader(h)
		payload := make([]byte, fh.Length)
		if _, err := io.ReadFull(c, payload); err != nil {
			break
		}
		if fh.Type == FrameGoAway {
			goAway = payload
		}
	}
	require.GreaterOrEqual(t, len(goAway), 8, "a GOAWAY before the close")
	require.Equal(t, ErrCodeProtocol, ErrCode(binary.BigEndian.Uint32(goAway[4:8])))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "then the close")
	require.Empty(t, logs.get())
}
