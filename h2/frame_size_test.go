package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// dataFrames collects the DATA frames the raw peer receives until each of
// the streams in ids has ended.
func dataFrames(p *peer, ids ...uint32) []rawFrame {
	open := map[uint32]bool{}
	for _, id := range ids {
		open[id] = true
	}
	var out []rawFrame
	for len(open) > 0 {
		f, _ := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData })
		out = append(out, f)
		if f.Flags.Has(FlagEndStream) {
			delete(open, f.StreamID)
		}
	}
	return out
}

// A stream alone in the write scheduler sends frames as large as the peer
// accepts (which the peer may read in place); streams that share the
// connection take turns of at most a quantum each, except that a turn
// finishes a body handed over whole when its rest is at most pieceQuanta
// quanta.
func TestFrameSizeFollowsTheScheduler(t *testing.T) {
	const quantum = 64 << 10
	body := pattern(300 << 10)
	bigFramesPeer := func() *peer {
		p := newClientPeer(t, nil)
		p.serverHandshake(Setting{SettingMaxFrameSize, 1 << 20}, Setting{SettingInitialWindowSize, 4 << 20})
		return p
	}

	p := bigFramesPeer()
	p.mustWrite(appendWindowUpdate(nil, 0, 1<<20))
	alone, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	_, err = alone.End(body, nil)
	require.NoError(t, err)
	largest := 0
	for _, f := range dataFrames(p, 1) {
		largest = max(largest, len(f.Payload))
	}
	require.Greater(t, largest, quantum, "a stream alone is not cut into turns")

	// Two bodies queue while the connection window (65,535 bytes: the peer
	// has not raised it) runs out, then share the window the peer opens.
	shared := func(body []byte) []rawFrame {
		p = bigFramesPeer()
		for range 2 {
			st, err := p.sess.Request(ctxT(t), post("/"), nil)
			require.NoError(t, err)
			go func() { _, _ = st.End(body, nil) }()
		}
		eventually(t, "both bodies wait for the connection window", func() bool {
			p.sess.mu.Lock()
			defer p.sess.mu.Unlock()
			return p.sess.sendFlow.avail() == 0 && p.sess.sched.len() == 2
		})
		p.mustWrite(appendWindowUpdate(nil, 0, 8<<20))
		return dataFrames(p, 1, 3)
	}

	runs, last := 0, uint32(0) // runs of frames of one stream
	for _, f := range shared(body) {
		if len(f.Payload) == 0 {
			continue // End's END_STREAM, when it came after the body was framed
		}
		if f.StreamID != last {
			runs++
		}
		last = f.StreamID
	}
	require.Equal(t, 2, runs, "300 KiB bodies go one after the other, not in turns")

	bulk := pattern(3 << 20)
	left := map[uint32]int{1: len(bulk), 3: len(bulk)}
	for _, f := range shared(bulk) {
		if left[f.StreamID] > pieceQuanta*quantum && left[1] > 0 && left[3] > 0 {
			require.LessOrEqual(t, len(f.Payload), quantum, "a frame of stream %d while the other had bytes to send", f.StreamID)
		}
		left[f.StreamID] -= len(f.Payload)
	}
}
