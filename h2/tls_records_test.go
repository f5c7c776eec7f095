package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// socketWrites is a net.Conn that records the size of each Write to the
// socket beneath TLS, and fails them with failWith once set.
type socketWrites struct {
	net.Conn
	mu       sync.Mutex
	sizes    []int
	failWith error
}

func (c *socketWrites) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failWith != nil {
		return 0, c.failWith
	}
	c.sizes = append(c.sizes, len(p))
	return c.Conn.Write(p)
}

// take returns the sizes written since the last take.
func (c *socketWrites) take() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sizes
	c.sizes = nil
	return s
}

func (c *socketWrites) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failWith = err
}

// tlsPair handshakes a client made by wrap over a counted socket with a
// plain crypto/tls server over loopback TCP.
func tlsPair(t *testing.T, wrap func(net.Conn, *tls.Config) *tls.Conn) (*tls.Conn, *socketWrites, *tls.Conn) {
	cert, pool, _, _ := selfSigned(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan *tls.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		_ = tc.HandshakeContext(ctxT(t))
		accepted <- tc
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	counted := &socketWrites{Conn: raw}
	client := wrap(counted, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	require.NoError(t, client.HandshakeContext(ctxT(t)))
	server := <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	counted.take() // the handshake's writes
	return client, counted, server
}

// TestGatheredTLSWriteIsOneSocketWrite: a flush that takes several TLS
// records reaches the socket in one write, and the peer reads it whole;
// crypto/tls alone writes each record by itself.
func TestGatheredTLSWriteIsOneSocketWrite(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16) // 100 KiB: 7 records
	records := (len(payload) + tlsMaxRecord - 1) / tlsMaxRecord

	plain, plainWrites, plainPeer := tlsPair(t, tls.Client)
	go func() { _, _ = plain.Write(payload) }()
	got := make([]byte, len(payload))
	_, err := io.ReadFull(plainPeer, got)
	require.NoError(t, err)
	// At least: on a new connection crypto/tls starts with records of a
	// TCP segment's size and grows them.
	require.GreaterOrEqual(t, len(plainWrites.take()), records, "crypto/tls writes one record per socket write")

	client, writes, peer := tlsPair(t, TLSClient)
	tc, g := gathererOf(client)
	require.NotNil(t, g, "TLSClient puts a gatherer beneath the TLS conn")
	require.Same(t, client, tc)
	done := make(chan error, 1)
	go func() { done <- g.writeGathered(client, payload) }()
	_, err = io.ReadFull(peer, got)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, payload, got)
	sizes := writes.take()
	require.Len(t, sizes, 1, "all %d records in one socket write", records)
	require.Greater(t, sizes[0], len(payload), "the records' framing and tags are in it too")

	// Writes of one record, and crypto/tls's own (the close_notify alert),
	// go straight to the socket.
	go func() { done <- g.writeGathered(client, payload[:100]) }()
	_, err = io.ReadFull(peer, got[:100])
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Len(t, writes.take(), 1)
	require.NoError(t, client.Close())
	_, err = peer.Read(got)
	require.ErrorIs(t, err, io.EOF, "the close_notify alert passed through")
	require.Len(t, writes.take(), 1)
}

// TestGatheredTLSWriteReportsSocketError: the socket's failure, which
// crypto/tls never saw, is the write's error.
func TestGatheredTLSWriteReportsSocketError(t *testing.T) {
	client, writes, _ := tlsPair(t, TLSClient)
	_, g := gathererOf(client)
	broken := errors.New("socket broken")
	writes.fail(broken)
	err := g.writeGathered(client, make([]byte, 3*tlsMaxRecord))
	require.ErrorIs(t, err, broken)
}

// TestTLSSessionsGatherRecords: the TLS connections that Server.Serve and
// Dial make write through a gatherer, so that a flush of the writer larger
// than a record reaches the socket in one write (no socket write of
// crypto/tls alone is larger than one record).
func TestTLSSessionsGatherRecords(t *testing.T) {
	goroutineLeakCheck(t)
	cert, pool, _, _ := selfSigned(t)
	serverSess := make(chan *Session, 1)
	srv := &Server{Handler: okHandler, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		OnSession: func(s *Session) { serverSess <- s }}
	addr := newTestServer(t, srv)
	var counted *socketWrites
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		counted = &socketWrites{Conn: c}
		return counted, nil
	}
	c := dialTest(t, addr, &ClientOptions{TLSConfig: &tls.Config{RootCAs: pool}, Dialer: dial})
	_, g := gathererOf(c.Conn())
	require.NotNil(t, g, "Dial's TLS conn writes through a gatherer")
	_, g = gathererOf((<-serverSess).Conn())
	require.NotNil(t, g, "Serve's TLS conns write through a gatherer")

	body := bytes.Repeat([]byte{'x'}, 1<<20)
	status, echoed, err := roundTrip(ctxT(t), c, "/big", body)
	require.NoError(t, err)
	require.Equal(t, "200", status)
	require.Equal(t, body, echoed)
	largest := 0
	for _, n := range counted.take() {
		largest = max(largest, n)
	}
	require.Greater(t, largest, 2*tlsMaxRecord, "a 1 MiB body left in writes of several records")
}

// bigWriteSignal is a net.Conn that tells when a write of more than 1 MiB
// reaches the socket.
type bigWriteSignal struct {
	net.Conn
	once    sync.Once
	started chan struct{}
}

func (c *bigWriteSignal) Write(p []byte) (int, error) {
	if len(p) > 1<<20 {
		c.once.Do(func() { close(c.started) })
	}
	return c.Conn.Write(p)
}

// TestCloseBreaksGatheredWriteToStalledPeer: Close while the gathered
// records wait for a peer that stopped reading closes the socket at once
// and fails the write, as crypto/tls's Close does during its own Write,
// instead of waiting for the socket with the close_notify alert.
func TestCloseBreaksGatheredWriteToStalledPeer(t *testing.T) {
	cert, pool, _, _ := selfSigned(t)
	raw, peerRaw := net.Pipe() // a write waits until the peer reads it
	peer := tls.Server(peerRaw, &tls.Config{Certificates: []tls.Certificate{cert}})
	defer peer.Close()
	go func() { _ = peer.HandshakeContext(ctxT(t)) }() // then never reads
	socket := &bigWriteSignal{Conn: raw, started: make(chan struct{})}
	client := TLSClient(socket, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	require.NoError(t, client.HandshakeContext(ctxT(t)))
	_, g := gathererOf(client)
	done := make(chan error, 1)
	go func() { done <- g.writeGathered(client, make([]byte, 2<<20)) }()
	<-socket.started
	closed := make(chan error, 1)
	go func() { closed <- client.Close() }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for the stalled write (crypto/tls gives its close_notify alert 5 s)")
	}
	require.Error(t, <-done, "the write failed with the connection")
}

// TestGatherBufferSizedForTheFlush: a flush gathers its records into one
// buffer sized for them all, also after a collection emptied the pool,
// instead of growing a small one by copies (about 4 times the flush in
// buffers for 200 KiB).
func TestGatherBufferSizedForTheFlush(t *testing.T) {
	client, _, peer := tlsPair(t, TLSClient)
	go func() { _, _ = io.Copy(io.Discard, peer) }()
	_, g := gathererOf(client)
	payload := make([]byte, 200<<10)
	// Past crypto/tls's first records, which it keeps at a TCP segment's size.
	require.NoError(t, g.writeGathered(client, payload))
	// The least of three flushes: TotalAlloc counts every goroutine's
	// allocations, and one left over from an earlier test may allocate
	// during one of them.
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC() // a pool keeps its buffers over one collection
		runtime.ReadMemStats(&before)
		require.NoError(t, g.writeGathered(client, payload))
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	require.Less(t, least, uint64(len(payload))*3/2,
		"the records of one flush (and crypto/tls's own record buffer) take about the flush's size")
}

// Code that unwraps a TLS connection h2 made reaches the socket beneath the
// gatherer (the stall check, a pooled connection's peek for the peer's
// FIN), and is told plainly when there is no descriptor to reach.
func TestGathererReachesTheSocketBeneath(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	raw, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer raw.Close()
	_, g := gathererOf(TLSClient(raw, &tls.Config{}))
	require.NotNil(t, g)
	require.Same(t, raw, g.NetConn())
	rc, err := g.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, rc.Control(func(fd uintptr) { require.NotZero(t, fd) }))

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_, g = gathererOf(TLSServer(a, &tls.Config{}))
	_, err = g.SyscallConn()
	require.ErrorIs(t, err, errNoSyscallConn)
}
