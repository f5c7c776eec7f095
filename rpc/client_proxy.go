package rpc

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// HTTP CONNECT proxies, as grpc-go uses them: unless told otherwise, each
// TCP connection asks the environment (HTTPS_PROXY, NO_PROXY and their
// lower-case forms) whether to go through a proxy, and tunnels through it
// with CONNECT host:port. As in net/http, whose reading of the environment
// this is (once per process), loopback addresses and localhost are never
// proxied. The proxy sees only the tunnel: TLS, when chosen, runs end to
// end inside it.

// WithProxy chooses the proxy for each address ("host:port" as resolved):
// f returns nil for a direct connection, or an http:// URL (user:password
// in it become a Proxy-Authorization: Basic header). It replaces the
// environment's choice.
func WithProxy(f func(addr string) (*url.URL, error)) DialOption {
	return func(o *clientConfig) { o.proxy = f }
}

// WithNoProxy connects directly whatever the environment says.
func WithNoProxy() DialOption {
	return WithProxy(func(string) (*url.URL, error) { return nil, nil })
}

// environmentProxy is the environment's proxy for addr (net/http reads
// the environment once, at its first use).
func environmentProxy(addr string) (*url.URL, error) {
	return http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: "https", Host: addr}})
}

// envProxy holds environmentProxy; tests swap it while other tests'
// clients may still be dialing, hence the atomic.
var envProxy atomic.Pointer[func(addr string) (*url.URL, error)]

func init() {
	f := environmentProxy
	envProxy.Store(&f)
}

// ErrProxy is wrapped by the errors of a connection through a proxy.
var ErrProxy = errors.New("rpc: proxy")

// dialTCP connects to addr, through the proxy the configuration chooses.
func (cc *ClientConn) dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	choose := cc.cfg.proxy
	if choose == nil {
		choose = *envProxy.Load()
	}
	proxy, err := choose(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: choosing one for %s: %w", ErrProxy, addr, err)
	}
	var d net.Dialer
	if proxy == nil {
		return d.DialContext(ctx, "tcp", addr)
	}
	if proxy.Scheme != "http" && proxy.Scheme != "" {
		return nil, fmt.Errorf("%w: %s: only http:// proxies are supported", ErrProxy, proxy.Redacted())
	}
	conn, err := d.DialContext(ctx, "tcp", withPortOf(proxy.Host, "80"))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrProxy, proxy.Redacted(), err)
	}
	tunnel, err := cc.connect(ctx, conn, addr, proxy)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w %s: %w", ErrProxy, proxy.Redacted(), err)
	}
	return tunnel, nil
}

func withPortOf(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(host, port)
}

// connect asks the proxy on conn for a tunnel to addr.
func (cc *ClientConn) connect(ctx context.Context, conn net.Conn, addr string, proxy *url.URL) (net.Conn, error) {
	// The context bounds the exchange: a proxy that never answers must not
	// hold the connect loop beyond its attempt.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if stop() {
			_ = conn.SetDeadline(time.Time{})
		}
	}()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr,
		Header: http.Header{"User-Agent": {cc.userAgent}}}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(conn); err != nil {
		return nil, ctxOr(ctx, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, ctxOr(ctx, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("CONNECT %s refused: %s", addr, resp.Status)
	}
	if br.Buffered() > 0 {
		// The server spoke first (its SETTINGS) in the proxy's last read.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

func ctxOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// bufferedConn reads first what the CONNECT exchange read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}
