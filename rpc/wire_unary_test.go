package rpc

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
)

// frameTally counts the frames a connection brings in, by type, and the
// HPACK bytes of their header blocks, from the bytes as they are read.
type frameTally struct {
	mu          sync.Mutex
	frames      map[h2.FrameType]int
	headerBlock int
	pending     []byte // bytes of a frame not wholly read yet
}

func (f *frameTally) add(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, p...)
	for len(f.pending) >= 9 {
		n := int(f.pending[0])<<16 | int(f.pending[1])<<8 | int(f.pending[2])
		if len(f.pending) < 9+n {
			return
		}
		t := h2.FrameType(f.pending[3])
		f.frames[t]++
		if t == h2.FrameHeaders || t == h2.FrameContinuation {
			f.headerBlock += n
		}
		f.pending = f.pending[9+n:]
	}
}

// snapshot returns the counts so far.
func (f *frameTally) snapshot() (map[h2.FrameType]int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[h2.FrameType]int, len(f.frames))
	for k, v := range f.frames {
		m[k] = v
	}
	return m, f.headerBlock
}

// tallyConn counts what the server sends to the client.
type tallyConn struct {
	net.Conn
	t *frameTally
}

func (c tallyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.add(p[:n])
	return n, err
}

// TestUnaryResponseWireShape: once a connection is warm, a unary gRPC call's
// response is the three frames gRPC requires (HEADERS, DATA, trailing
// HEADERS) and nothing else: no WINDOW_UPDATE for the request's bytes, no
// PING. Its header blocks are fully indexed (":status: 200" and content-type
// in 2 bytes, "grpc-status: 0" in 1), so the client decodes table indexes
// only. Load generators such as ghz spend their CPU on every frame we send;
// this is what docs/benchmarks.md's ghz section counts.
func TestUnaryResponseWireShape(t *testing.T) {
	checkNoLeaks(t)
	tally := &frameTally{frames: map[h2.FrameType]int{}}
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return tallyConn{c, tally}, nil
	}
	e := newEnv(t, true, nil, WithContextDialer(dial))
	ctx := ctxTimeout(t, 10*time.Second)
	_, err := e.echo(ctx, "warm") // the connection's SETTINGS, its window, the first header fields indexed
	require.NoError(t, err)
	before, blockBefore := tally.snapshot()

	const calls = 50
	for range calls {
		out, err := e.echo(ctx, "x")
		require.NoError(t, err)
		require.Equal(t, "x", out)
	}
	after, blockAfter := tally.snapshot()
	sent := map[h2.FrameType]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			sent[k] = d
		}
	}
	require.Equal(t, map[h2.FrameType]int{h2.FrameHeaders: 2 * calls, h2.FrameData: calls}, sent)
	require.Equal(t, 3*calls, blockAfter-blockBefore, "header block bytes")
}
