package h2

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
)

// recordGatherer sits between crypto/tls and the socket of the connections h2
// wraps in TLS itself (Server.Serve, Dial, Transport, TLSClient, TLSServer).
// crypto/tls seals a Write into records of at most 16 KiB and hands each to
// the socket in its own write: a writer flush of 128 KiB was 8 write
// syscalls instead of h2c's one, each also a trip through loopback's TCP
// receive path (the TLS server-stream benchmark made 6x the write syscalls
// of its h2c twin). While the session writer's Write runs, the gatherer
// copies the records instead and writes them together when it returns: one
// copy of bytes the kernel copies anyway, against a syscall per 16 KiB.
//
// Writes from elsewhere (crypto/tls's own alerts and key-update replies,
// from Close or the reading goroutine) pass through as they come, or join a
// gathering under way, also while its bytes are being written: mu keeps
// their order with the records around them and never waits for the socket
// while gathering, so that a Close meant to break a write stuck on a peer
// that stopped reading closes the socket at once (crypto/tls's Close does
// so when a Write is under way, and ours has returned by then).
type recordGatherer struct {
	net.Conn
	mu        sync.Mutex
	gathering bool    // a writeGathered is under way: Writes go to buf
	buf       *[]byte // what it has gathered and not yet written, from gatherBufs
}

// tlsMaxRecord is the largest plaintext of one TLS record (RFC 8446 §5.1):
// a write no larger takes one record, one socket write, and is not gathered.
const tlsMaxRecord = 16 << 10

// maxPooledGather bounds the buffers kept for reuse: a flush is at most
// flushThreshold and a frame, plus each record's 22 bytes of framing.
const maxPooledGather = 2 * flushThreshold

// tlsRecordOverhead bounds what a record adds to its plaintext: the 5-byte
// header and, for TLS 1.3, the content type and a 16-byte tag (TLS 1.2's
// GCM also has an 8-byte explicit nonce and no content type).
const tlsRecordOverhead = 5 + 8 + 16

var gatherBufs = sync.Pool{New: func() any { return new([]byte) }}

// getGatherBuf returns an empty pooled buffer of at least size bytes. Sized
// for the whole flush up front: grown by append from a small one, a 128 KiB
// flush copied what it had gathered twice more and allocated three buffers
// each time a collection had emptied the pool, as it often does while
// messages flow.
func getGatherBuf(size int) *[]byte {
	b := gatherBufs.Get().(*[]byte)
	if cap(*b) < size {
		*b = make([]byte, 0, size)
	}
	return b
}

// NetConn returns the socket, for code that unwraps connections to reach it
// (as it unwraps a *tls.Conn).
func (g *recordGatherer) NetConn() net.Conn { return g.Conn }

// SyscallConn reaches the socket's descriptor, for code that checks the
// socket beneath a *tls.Conn's NetConn without unwrapping further (a peek for
// a peer's FIN on a pooled connection).
func (g *recordGatherer) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := g.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSyscallConn
}

var errNoSyscallConn = errors.New("h2: the connection beneath TLS has no file descriptor")

// Write copies p while a gathering is under way and writes it otherwise.
func (g *recordGatherer) Write(p []byte) (int, error) {
	g.mu.Lock()
	if g.gathering {
		if g.buf == nil {
			g.buf = getGatherBuf(len(p))
		}
		*g.buf = append(*g.buf, p...)
		g.mu.Unlock()
		return len(p), nil
	}
	defer g.mu.Unlock()
	return g.Conn.Write(p)
}

// writeGathered writes b through tc, whose records reach g, in one socket
// write when b needs more than one record, then what other writers added
// meanwhile. crypto/tls sees its records written as they are copied; a
// failure of the socket write is returned here, after which the session
// ends, so the records it believes sent do not matter.
func (g *recordGatherer) writeGathered(tc *tls.Conn, b []byte) error {
	if len(b) <= tlsMaxRecord {
		_, err := tc.Write(b)
		return err
	}
	records := (len(b) + tlsMaxRecord - 1) / tlsMaxRecord
	g.mu.Lock()
	g.gathering = true
	g.buf = getGatherBuf(len(b) + records*tlsRecordOverhead)
	g.mu.Unlock()
	_, err := tc.Write(b)
	for {
		g.mu.Lock()
		out := g.buf
		g.buf = nil
		if out == nil || len(*out) == 0 || err != nil {
			g.gathering = false
			g.mu.Unlock()
			putGatherBuf(out)
			return err
		}
		g.mu.Unlock()
		_, err = g.Conn.Write(*out)
		putGatherBuf(out)
	}
}

func putGatherBuf(b *[]byte) {
	if b != nil && cap(*b) <= maxPooledGather {
		*b = (*b)[:0]
		gatherBufs.Put(b)
	}
}

// gathererOf returns c as a *tls.Conn and the gatherer beneath it when h2
// made it over one, and a nil gatherer otherwise (a user's own tls.Conn
// writes as crypto/tls does).
func gathererOf(c net.Conn) (*tls.Conn, *recordGatherer) {
	if tc, ok := c.(*tls.Conn); ok {
		g, _ := tc.NetConn().(*recordGatherer)
		return tc, g
	}
	return nil, nil
}

// TLSClient is tls.Client for a connection that will carry an h2 session:
// the session then writes each flush of its writer, however many records
// it takes, in one write to conn (see recordGatherer). Give the result to
// NewClientSession once handshaken; its NetConn is a wrapper whose NetConn
// is conn.
func TLSClient(conn net.Conn, cfg *tls.Config) *tls.Conn {
	return tls.Client(&recordGatherer{Conn: conn}, cfg)
}

// TLSServer is tls.Server for a connection to serve with ServeConn, with the
// same single write per flush as TLSClient.
func TLSServer(conn net.Conn, cfg *tls.Config) *tls.Conn {
	return tls.Server(&recordGatherer{Conn: conn}, cfg)
}

// tlsListener is tls.NewListener with TLSServer's connections.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return TLSServer(c, l.cfg), nil
}
