package rpc

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// connectProxy is an HTTP CONNECT proxy on loopback that records what it
// was asked, and refuses with refuse when set.
type connectProxy struct {
	l      net.Listener
	refuse int
	mu     sync.Mutex
	hosts  []string
	auth   []string
	wg     sync.WaitGroup
}

func startConnectProxy(t *testing.T, refuse int) *connectProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectProxy{l: l, refuse: refuse}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, req.Host)
	p.auth = append(p.auth, req.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if p.refuse != 0 {
		_, _ = io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(p.refuse)+" "+http.StatusText(p.refuse)+"\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

func (p *connectProxy) url() *url.URL {
	return &url.URL{Scheme: "http", Host: p.l.Addr().String(), User: url.UserPassword("alice", "s3cret")}
}

func TestProxyTunnelsWithCONNECT(t *testing.T) {
	checkNoLeaks(t)
	p := startConnectProxy(t, 0)
	e := newEnv(t, true, nil)
	cc, err := NewClient(e.addr, WithInsecure(), WithProxy(func(string) (*url.URL, error) { return p.url(), nil }))
	require.NoError(t, err)
	defer cc.Close()
	got, err := (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "through the proxy")
	require.NoError(t, err)
	require.Equal(t, "through the proxy", got)
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Equal(t, []string{e.addr}, p.hosts)
	require.Equal(t, []string{"Basic YWxpY2U6czNjcmV0"}, p.auth) // alice:s3cret
}

func TestProxyRefusalFailsTheCall(t *testing.T) {
	checkNoLeaks(t)
	p := startConnectProxy(t, http.StatusProxyAuthRequired)
	cc, err := NewClient("127.0.0.1:1", WithInsecure(), WithProxy(func(string) (*url.URL, error) { return p.url(), nil }))
	require.NoError(t, err)
	defer cc.Close()
	_, err = (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Contains(t, err.Error(), "Proxy Authentication Required")
}

// Without WithProxy, each connection asks the environment (net/http's
// reading of HTTPS_PROXY and NO_PROXY), with the address it dials.
func TestProxyDefaultsToTheEnvironment(t *testing.T) {
	checkNoLeaks(t)
	p := startConnectProxy(t, 0)
	e := newEnv(t, true, nil)
	var asked []string
	fake := func(addr string) (*url.URL, error) {
		asked = append(asked, addr)
		return p.url(), nil
	}
	saved := envProxy.Swap(&fake)
	defer envProxy.Store(saved)
	cc, err := NewClient(e.addr, WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	_, err = (&env{cc: cc}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, []string{e.addr}, asked)

	cc2, err := NewClient(e.addr, WithInsecure(), WithNoProxy())
	require.NoError(t, err)
	defer cc2.Close()
	_, err = (&env{cc: cc2}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Len(t, asked, 1, "WithNoProxy does not ask")
	p.mu.Lock()
	require.Len(t, p.hosts, 1)
	p.mu.Unlock()
}
