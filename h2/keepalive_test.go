package h2

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKeepalivePingsOneIntervalAfterLastFrame: the keepalive ping goes out
// one KeepaliveInterval after the last frame arrived. The peer's last frame
// comes just after the session started, so a ticker that pings only when a
// whole tick period was quiet would wait for its second tick, almost two
// intervals after that frame; a dead peer would then take up to
// 2*interval+timeout to notice instead of interval+timeout.
func TestKeepalivePingsOneIntervalAfterLastFrame(t *testing.T) {
	goroutineLeakCheck(t)
	// Two seconds, so that the bound below leaves one for the ping's way
	// from the timer through the keepalive goroutine, the writer and the
	// pipe to this test: at 500 ms that way once took 268 ms too many
	// (-race -cpu 1 at load 30).
	const interval = 2 * time.Second
	p := newClientPeer(t, &ClientOptions{Options: Options{KeepaliveInterval: interval, KeepaliveTimeout: waitLong}})
	p.serverHandshake()
	// net.Pipe: the write returns once the session's reader has the frame.
	p.mustWrite(appendWindowUpdate(nil, 0, 1))
	last := time.Now()
	ping, _ := p.expect("keepalive PING", func(f rawFrame) bool { return f.Type == FramePing && !f.Flags.Has(FlagAck) })
	quiet := time.Since(last)
	// Not early: the peer spoke less than an interval ago until then.
	require.GreaterOrEqual(t, quiet, interval*9/10)
	// Not an interval late: the bound sits halfway between the two designs,
	// a semantic margin rather than a speed requirement.
	require.Less(t, quiet, interval*3/2, "the ping waited for a second quiet tick")
	p.mustWrite(AppendPing(nil, true, [8]byte(ping.Payload)))
	require.NoError(t, p.sess.Err())
}
