package h2

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefenseOriginAndAltSvcFlood: a server that sends ORIGIN frames with
// ever new origins, and ALTSVC frames without end, grows the client's
// origin set only up to its bound; the client stays usable.
func TestDefenseOriginAndAltSvcFlood(t *testing.T) {
	goroutineLeakCheck(t)
	opts := &ClientOptions{}
	var altSvc, origin atomic.Int64
	opts.Hooks.OnAltSvc = func(*Session, string, string, uint32) { altSvc.Add(1) }
	opts.Hooks.OnOrigin = func(*Session, []string) { origin.Add(1) }
	p := newClientPeer(t, opts)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	const n = 20000
	written := <-p.flood(2*n, func(i int, dst []byte) []byte {
		if i%2 == 0 {
			return appendRaw(dst, FrameAltSvc, 0, 0, altSvcPayload("https://a", fmt.Sprintf(`h3=":%d"`, i)))
		}
		o := fmt.Sprintf("https://o%d.example", i)
		return appendRaw(dst, FrameOrigin, 0, 0, append(binary.BigEndian.AppendUint16(nil, uint16(len(o))), o...))
	})
	require.Equal(t, 2*n, written)
	requireLives(t, p, st)
	require.Equal(t, int64(n), altSvc.Load())
	require.Equal(t, int64(n), origin.Load())
	require.Len(t, p.sess.OriginSet(), maxOriginSet)
}

// TestDefenseExtensionFramesToServer: a client flooding ALTSVC and ORIGIN
// frames at a server (which ignores both) does not keep it from serving.
func TestDefenseExtensionFramesToServer(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: okHandler})
	p.handshake()
	p.startReader()
	written := <-p.flood(20000, func(i int, dst []byte) []byte {
		if i%2 == 0 {
			return appendRaw(dst, FrameAltSvc, 0, 0, altSvcPayload("https://a", "clear"))
		}
		return appendRaw(dst, FrameOrigin, 0, 0, append(binary.BigEndian.AppendUint16(nil, 9), "https://o"...))
	})
	require.Equal(t, 20000, written)
	p.request(1, true)
	require.Equal(t, "200", p.expectHeaders(1).Fields.Get(":status"))
}
