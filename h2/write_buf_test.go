package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A writer wake-up that finds more queued frames than a small array holds
// (a read batch of new streams' HEADERS) takes a big pooled array and gives
// it back when idle, instead of growing one by append every time.
func TestFrameQueueOutgrowsIntoPooledArray(t *testing.T) {
	s := writerSession(t, Options{})
	s.mu.Lock()
	defer s.mu.Unlock()
	burst := func() {
		for i := range 40 {
			s.enqueueLocked(frameReq{kind: reqWindowUpdate, streamID: uint32(2*i + 1), u32: 1})
		}
		s.takeBatchLocked()
		s.mu.Unlock()
		s.encodeBatch()
		s.mu.Lock()
		s.wbuf = s.wbuf[:0]
		s.releaseFrameBatches()
	}
	for i := range 40 {
		s.enqueueLocked(frameReq{kind: reqWindowUpdate, streamID: uint32(2*i + 1), u32: 1})
	}
	require.Len(t, s.ctrl, 40)
	require.Equal(t, frameBatchBigLen, cap(s.ctrl), "the queue moved to a big array, not one grown by append")
	for i, r := range s.ctrl {
		require.Equal(t, uint32(2*i+1), r.streamID, "in order, across the move")
	}
	s.takeBatchLocked()
	s.mu.Unlock()
	s.encodeBatch()
	s.mu.Lock()
	require.Len(t, splitFrames(t, s.wbuf), 40)
	s.wbuf = s.wbuf[:0]
	s.releaseFrameBatches()

	burst() // warm the pools
	allocs := testing.AllocsPerRun(50, burst)
	if !raceDetector { // the race detector's pools drop a quarter of what is put back
		require.Zero(t, allocs, "a burst of 40 queued frames allocates nothing once the pools are warm")
	}
}
