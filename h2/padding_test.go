package h2

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPaddingStrategies(t *testing.T) {
	for _, tc := range []struct{ frameLen, maxLen, want int }{
		{7, 300, 7},     // 7+9 is aligned already
		{0, 300, 7},     // 1 octet of length and 6 of padding: 16
		{8, 300, 15},    // 24
		{100, 102, 102}, // not enough room: as far as allowed
		{1000, 1256, 1007},
	} {
		require.Equal(t, tc.want, PadAligned(tc.frameLen, tc.maxLen), "%+v", tc)
		if tc.want != tc.frameLen {
			require.Zero(t, (tc.want+frameHeaderLen)%8*btoi(tc.want < tc.maxLen), "%+v", tc)
		}
	}
	require.Equal(t, 300, PadMax(10, 300))

	s := &Session{opts: &Options{Padding: PadMax}}
	extra, pad := s.padding(10, 16384)
	require.Equal(t, 256, extra, "Pad Length octet and 255 bytes")
	require.Equal(t, 255, pad)
	extra, _ = s.padding(10, 10)
	require.Zero(t, extra, "no room, no padding")
	s.opts.Padding = func(frameLen, maxLen int) int { return -5 } // out of range: clamped
	extra, _ = s.padding(10, 100)
	require.Zero(t, extra)
	s.opts.Padding = func(frameLen, maxLen int) int { return 1 << 20 }
	extra, pad = s.padding(10, 100)
	require.Equal(t, 90, extra)
	require.Equal(t, 89, pad)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPaddingOnTheWire: a server with a padding strategy pads its HEADERS
// and DATA frames, and DATA padding stays within the peer's flow-control
// window: with room, PadMax adds 256 bytes; with a 200-byte window, the
// padded frame is 200 bytes.
func TestPaddingOnTheWire(t *testing.T) {
	for _, window := range []uint32{65535, 200} {
		goroutineLeakCheck(t)
		body := bytes.Repeat([]byte("x"), 100)
		srv := &Server{Handler: HandlerFunc(func(st *Stream) {
			_ = st.Respond(nil, &RespondOptions{Body: body, Trailers: Header{{Name: "x-t", Value: "1"}}})
		}), Options: Options{Padding: PadMax}}
		p := newServerPeer(t, srv)
		p.handshake(Setting{SettingInitialWindowSize, window})
		p.request(1, true)
		h := p.expectHeaders(1)
		require.True(t, h.Flags.Has(FlagPadded), "padded response HEADERS: %v", h)
		f, _ := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && f.StreamID == 1 })
		require.True(t, f.Flags.Has(FlagPadded))
		require.Equal(t, int(min(window, 100+256)), len(f.Payload), "window %d", window)
		data, err := stripPadding(f.FrameHeader, f.Payload)
		require.NoError(t, err)
		require.Equal(t, body, data)
		tr, _ := p.expect("trailers", func(f rawFrame) bool { return f.Fields != nil && f.StreamID == 1 })
		require.True(t, tr.Flags.Has(FlagPadded))
		require.Equal(t, "1", tr.Fields.Get("x-t"))
		_ = p.conn.Close()
		p.waitDone()
	}
}

// TestPaddingBothEnds: padded bodies both ways come through whole, with a
// selectPadding-like callback on each side.
func TestPaddingBothEnds(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	counting := func(side string) PaddingStrategy {
		return func(frameLen, maxLen int) int {
			mu.Lock()
			calls[side]++
			mu.Unlock()
			return PadAligned(frameLen, maxLen)
		}
	}
	body := bytes.Repeat([]byte("0123456789"), 50000)
	transportsWith(t, func() *Server { return &Server{Handler: okHandler, Options: Options{Padding: counting("server")}} },
		&ClientOptions{Options: Options{Padding: counting("client")}}, func(t *testing.T, c *Session) {
			st, err := c.Request(ctxT(t), post("/echo"), &RequestOptions{Body: body, EndStream: true})
			require.NoError(t, err)
			_, err = st.Response(ctxT(t))
			require.NoError(t, err)
			got, err := io.ReadAll(st)
			require.NoError(t, err)
			require.Equal(t, body, got)
		})
	mu.Lock()
	defer mu.Unlock()
	// Full frames have no room for padding; the headers and each body's
	// last frame do, on both sides and both transports.
	require.GreaterOrEqual(t, calls["server"], 4)
	require.GreaterOrEqual(t, calls["client"], 4)
}

// transportsWith is transports with client options.
func transportsWith(t *testing.T, srv func() *Server, opts *ClientOptions, f func(t *testing.T, c *Session)) {
	t.Run("loopback", func(t *testing.T) {
		goroutineLeakCheck(t)
		f(t, dialTest(t, newTestServer(t, srv()), opts))
	})
	t.Run("memory", func(t *testing.T) {
		goroutineLeakCheck(t)
		f(t, memPair(t, srv(), opts))
	})
}
