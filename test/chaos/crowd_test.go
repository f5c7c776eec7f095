//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"

	healthpb "github.com/h2rpc/h2rpc/proto/grpc/health/v1"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/test/chaos/internal/rawh2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// stalledPeerLimit is how long a server may keep a connection whose peer
// stopped reading (issue 14: grpc-go resets them within 20-30 s), counted
// from the last byte the peer's kernel took in: until then the server was
// still writing, which a loaded machine makes it do for seconds.
const stalledPeerLimit = 30 * time.Second

// TestNeverReadingClients opens connections that each ask for a 1 MiB
// response and never read a byte of it: the server must close every one
// within 30 s of the last byte their kernels took in, whatever the kernel's
// buffers absorbed. grpc-go's server gets
// the same crowd afterwards (not at once: a gigabyte of send queues each in
// the full variant), as the reference the contract comes from.
func TestNeverReadingClients(t *testing.T) {
	n := pick(200, 1000)
	ours := neverRead(t, "h2rpcserver", n)
	theirs := neverRead(t, "grpcserver", n)
	report(t, "%d connections, each a 1 MiB response never read: h2rpc %s; grpc-go %s", n, ours, theirs)
	require.Positive(t, ours.closedAll, "the server closes every never-reading connection within %s: %d of %d still open", stalledPeerLimit, ours.open, n)
}

// neverReadFigures is what one server did with never-reading clients.
type neverReadFigures struct {
	n, open   int
	rss       uint64
	closedAll time.Duration // -1: not all closed in time
	lastByte  time.Duration // when the clients' kernels last took in a byte
}

func (f neverReadFigures) String() string {
	closed := fmt.Sprintf("all closed by the server after %s", f.closedAll.Round(100*time.Millisecond))
	if f.closedAll < 0 {
		closed = fmt.Sprintf("%d of %d still open %s after the last byte", f.open, f.n, stalledPeerLimit)
	}
	return fmt.Sprintf("(RSS %s with them) %s (the last byte came after %s)", mib(float64(f.rss)),
		closed, f.lastByte.Round(100*time.Millisecond))
}

func neverRead(t *testing.T, bin string, n int) neverReadFigures {
	srv := startServer(t, "", bin)
	defer srv.kill()
	req, err := proto.Marshal(&testpb.SimpleRequest{ResponseSize: 1 << 20})
	require.NoError(t, err)
	base := srv.stats(t, true).OpenFiles
	conns := dialRaw(t, srv.rpcAddr, n, 4<<20)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, c := range conns {
		require.NoError(t, rawh2.WriteCall(c, 1, srv.rpcAddr, testpb.TestService_UnaryCall_FullMethodName, req))
	}
	sent := time.Now()
	f := neverReadFigures{n: n, closedAll: -1, rss: srv.stats(t, false).RSS}

	// The server's open files tell how many of the connections it still
	// holds, without the clients reading anything. The time limit runs from
	// the last byte any client's kernel took in (bytes waiting unread in
	// its receive queue): a server still writing is not stalled yet.
	const poll = 500 * time.Millisecond
	lastByte, inq := sent, -1
	for time.Since(lastByte) <= stalledPeerLimit+poll && time.Since(sent) <= 3*stalledPeerLimit {
		f.open = srv.stats(t, false).OpenFiles - base
		if f.open <= 0 {
			f.closedAll = time.Since(sent)
			break
		}
		if n := unreadBytes(t, conns); n != inq {
			inq, lastByte = n, time.Now()
		}
		time.Sleep(poll)
	}
	f.lastByte = lastByte.Sub(sent)
	return f
}

// unreadBytes is what waits in conns' kernel receive queues, in all.
func unreadBytes(t *testing.T, conns []net.Conn) int {
	total := 0
	for _, c := range conns {
		rc, err := c.(*net.TCPConn).SyscallConn()
		require.NoError(t, err)
		var n int32
		var errno syscall.Errno
		require.NoError(t, rc.Control(func(fd uintptr) {
			_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		}))
		if errno != 0 {
			continue // closed meanwhile: its bytes are gone and no more come
		}
		total += int(n)
	}
	return total
}

// dialRaw opens n HTTP/2 connections that complete the handshake (with
// stream windows of window bytes) and then never read.
func dialRaw(t *testing.T, addr string, n int, window uint32) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		require.NoError(t, rawh2.Handshake(c, window, 10*time.Second))
	}
	return conns
}

// idleFigures is what one server showed with idle connections open.
type idleFigures struct {
	heapPerConn, rssPerConn float64
	before, during          *latencies
}

func (f idleFigures) String() string {
	return fmt.Sprintf("Go heap %.1f KB/conn, RSS %.1f KB/conn; health check p50/p99 %s/%s alone, %s/%s among the idle",
		f.heapPerConn/1000, f.rssPerConn/1000,
		ms(f.before.quantile(0.5)), ms(f.before.quantile(0.99)), ms(f.during.quantile(0.5)), ms(f.during.quantile(0.99)))
}

// TestIdleConnections measures the Go heap each idle connection costs the
// server, h2rpc's and grpc-go's side by side: ours may not be larger. A
// well-behaved client's latency is reported, alone and among the idle.
func TestIdleConnections(t *testing.T) {
	// 2,000 in the short variant: with 500, what each server's heap holds
	// besides its connections moved the per-connection figures by ±1 % from
	// run to run (grpc-go's 6,941 to 7,100 bytes), about the margin between
	// the two, and a loaded CI run failed on it; with 2,000 they stay within
	// ±0.2 % (h2rpc 6,863-6,893 bytes, grpc-go 6,996-7,006).
	n := pick(2000, 5000)
	ours := idleRun(t, "h2rpcserver", n)
	theirs := idleRun(t, "grpcserver", n)
	report(t, "%d idle connections: h2rpc %s; grpc-go %s", n, ours, theirs)
	require.LessOrEqual(t, ours.heapPerConn, theirs.heapPerConn, "an idle connection costs h2rpc no more Go heap than grpc-go")
}

func idleRun(t *testing.T, bin string, n int) idleFigures {
	srv := startServer(t, "", bin)
	defer srv.kill()
	health := healthpb.NewHealthClient(newClient(t, srv.rpcAddr))
	probe := func() *latencies {
		l := &latencies{}
		for range 300 {
			begin := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
			cancel()
			require.NoError(t, err, "%s: health check", bin)
			l.add(time.Since(begin))
		}
		return l
	}
	f := idleFigures{before: probe()}
	s0 := srv.stats(t, true)
	conns := dialRaw(t, srv.rpcAddr, n, 65535)
	time.Sleep(time.Second) // let the server finish setting each one up
	f.during = probe()
	s1 := srv.stats(t, true)
	require.GreaterOrEqual(t, s1.OpenFiles-s0.OpenFiles, n, "%s: the idle connections are all still open", bin)
	f.heapPerConn = (float64(s1.HeapAlloc) - float64(s0.HeapAlloc)) / float64(n)
	f.rssPerConn = (float64(s1.RSS) - float64(s0.RSS)) / float64(n)
	for _, c := range conns {
		c.Close()
	}
	return f
}
