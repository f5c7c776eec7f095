package rpc

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// largestWrite is a net.Conn that remembers the size of its largest Write.
type largestWrite struct {
	net.Conn
	mu      sync.Mutex
	largest int
}

func (c *largestWrite) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.largest = max(c.largest, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *largestWrite) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.largest
}

// TestTLSClientWritesSeveralRecordsAtOnce: a WithTLS client's connection
// writes a flush of several TLS records in one socket write (h2.TLSClient);
// crypto/tls alone writes each record of at most 16 KiB by itself.
func TestTLSClientWritesSeveralRecordsAtOnce(t *testing.T) {
	checkNoLeaks(t)
	srvTLS, pool := selfSigned(t)
	var socket *largestWrite
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		socket = &largestWrite{Conn: c}
		return socket, nil
	}
	e := newEnv(t, true, []ServerOption{Creds(srvTLS)}, WithTLS(&tls.Config{RootCAs: pool}), WithContextDialer(dial))
	big := strings.Repeat("x", 1<<20)
	got, err := e.echo(ctxTimeout(t, 10*time.Second), big)
	require.NoError(t, err)
	require.Equal(t, big, got)
	require.Greater(t, socket.get(), 32<<10, "a 1 MiB request left in writes of several TLS records")
}
