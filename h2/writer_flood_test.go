package h2

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Frames queued while the writer encodes the previous ones go out before
// any DATA (TestSettingsAckPrecedesTheDataItAllows), but a queue that is
// never empty when the writer looks, as under a peer's flood of PINGs, must
// not keep DATA out: here a frame joins the queue during every encode, and
// the stream's bytes still go out in the first round.
func TestControlFramesQueuedDuringEveryEncodeDoNotStarveData(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)

	var flooding atomic.Bool
	flooding.Store(true)
	hook := func(s *Session) {
		if s != p.sess || !flooding.Load() {
			return
		}
		s.mu.Lock()
		s.enqueueLocked(frameReq{kind: reqPing})
		s.mu.Unlock()
	}
	testHookEncode.Store(&hook)
	t.Cleanup(func() { testHookEncode.Store(nil) })
	defer flooding.Store(false)
	// Both queued in one hold of the lock: the writer meets the PING
	// first, and a new one during each encode from then on.
	p.sess.mu.Lock()
	p.sess.enqueueLocked(frameReq{kind: reqPing})
	p.sess.mu.Unlock()
	_, err = st.Write([]byte("data"))
	require.NoError(t, err)

	pings := 0
	deadline := time.Now().Add(waitLong)
	for {
		f, err := p.readFrame(time.Until(deadline))
		require.NoError(t, err, "no DATA after %d PINGs", pings)
		if f.Type == FrameData {
			break
		}
		pings++
	}
	require.Less(t, pings, 1000, "DATA waited behind %d PINGs", pings)
}
