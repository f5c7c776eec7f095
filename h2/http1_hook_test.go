package h2

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// hookEcho is a ServeHTTP1 hook that answers one request with its request
// line and whether the connection is TLS, then closes the connection.
func hookEcho(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	_, isTLS := c.(*tls.Conn)
	body := line[:len(line)-2]
	if isTLS {
		body += " tls " + c.(*tls.Conn).ConnectionState().NegotiatedProtocol
	}
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
}

// The hook receives cleartext HTTP/1.x connections with the sniffed bytes
// replayed, while HTTP/2 clients on the same port reach the handler; no
// AllowHTTP1 or HTTP handler is needed.
func TestServeHTTP1HookCleartext(t *testing.T) {
	goroutineLeakCheck(t)
	addr := newTestServer(t, &Server{Handler: HandlerFunc(notFound), ServeHTTP1: hookEcho})
	h1 := &http.Transport{}
	t.Cleanup(h1.CloseIdleConnections)
	require.Equal(t, "GET /x?y=1 HTTP/1.1", getBody(t, &http.Client{Transport: h1}, "http://"+addr+"/x?y=1"))
	res, err := h2cClient(t).Get("http://" + addr + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, 404, res.StatusCode, "HTTP/2 still reaches the h2 handler")
}

// Over TLS the server advertises "http/1.1" beside "h2" when the hook is set,
// and a connection that chose it (or no ALPN) goes to the hook.
func TestServeHTTP1HookTLS(t *testing.T) {
	goroutineLeakCheck(t)
	cert, _, _, _ := selfSigned(t)
	addr := newTestServer(t, &Server{Handler: HandlerFunc(notFound), ServeHTTP1: hookEcho,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	require.Equal(t, "GET / HTTP/1.1 tls http/1.1", getBody(t, tlsClient(t, false), "https://"+addr+"/"))
	res, err := tlsClient(t, true).Get("https://" + addr + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "HTTP/2.0", res.Proto)
}

// The hook's cleartext connection can shut its write side (a lingering
// close: the client sees the end while the server still drains its input).
func TestServeHTTP1HookCloseWrite(t *testing.T) {
	goroutineLeakCheck(t)
	got := make(chan string, 1)
	addr := newTestServer(t, &Server{Handler: HandlerFunc(notFound), ServeHTTP1: func(c net.Conn) {
		defer c.Close()
		cw, ok := c.(interface{ CloseWrite() error })
		if !ok {
			got <- "no CloseWrite"
			return
		}
		_, _ = io.WriteString(c, "bye")
		if err := cw.CloseWrite(); err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(c) // the client's rest, until it closes
		got <- string(b)
	}})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err, "the server's write side ended cleanly")
	require.Equal(t, "bye", string(b))
	_, err = io.WriteString(c, "more")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	require.Equal(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\nmore", <-got)
}

// The hook's cleartext connection gives its descriptor (syscall.Conn) once
// the replayed bytes are read, not before: a read through it would skip
// them.
func TestServeHTTP1HookSyscallConn(t *testing.T) {
	goroutineLeakCheck(t)
	type result struct{ before, after error }
	got := make(chan result, 1)
	hook := func(c net.Conn) {
		defer c.Close()
		sc, ok := c.(syscall.Conn)
		if !ok {
			got <- result{errors.ErrUnsupported, errors.ErrUnsupported}
			return
		}
		_, before := sc.SyscallConn()
		br := bufio.NewReader(c)
		_, _ = br.ReadString('\n') // the request line, replayed
		_, after := sc.SyscallConn()
		got <- result{before, after}
		_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	}
	addr := newTestServer(t, &Server{Handler: HandlerFunc(notFound), ServeHTTP1: hook})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	r := <-got
	require.ErrorIs(t, r.before, errReplayPending)
	require.NoError(t, r.after)
	_, _ = io.Copy(io.Discard, c)
}
