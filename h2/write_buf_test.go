package h2

import (
	"runtime"
	"testing"
	"unsafe"

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

// emptyWriteBufList drops what other tests left in the writer's free list.
func emptyWriteBufList() {
	for {
		select {
		case <-writeBufList:
		default:
			return
		}
	}
}

// TestGrownWriteBufferSurvivesGC: a writer's buffer that grew to a write's
// worth of frames is kept across garbage collections (a sync.Pool alone
// drops it within two), so the next busy spell writes from it instead of
// growing a fresh one from 16 KiB; a buffer that never grew stays with the
// pool.
func TestGrownWriteBufferSurvivesGC(t *testing.T) {
	emptyWriteBufList()
	s := writerSession(t, Options{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.borrowWriteBuf()
	s.wbuf = append(s.wbuf, make([]byte, flushThreshold)...)
	grown := unsafe.SliceData(s.wbuf)
	s.releaseWriteBuf()
	require.Nil(t, s.wbuf)

	require.Len(t, writeBufList, 1)

	runtime.GC()
	runtime.GC()
	runtime.GC()
	s.borrowWriteBuf()
	require.Same(t, grown, unsafe.SliceData(s.wbuf[:1]), "the grown buffer came back after the collections")
	require.Empty(t, s.wbuf)
	require.GreaterOrEqual(t, cap(s.wbuf), flushThreshold)
	s.releaseWriteBuf()
}

// TestWriteBufListKeepsAFew: the free list keeps at most writeBufKeep grown
// buffers, and none larger than writeBufKeepMax; the rest go to the pool.
func TestWriteBufListKeepsAFew(t *testing.T) {
	emptyWriteBufList()
	for range writeBufKeep + 3 {
		b := make([]byte, 0, 64<<10)
		putWriteBuf(&b)
	}
	require.Len(t, writeBufList, writeBufKeep)
	emptyWriteBufList()
	small := make([]byte, 0, writeBufInitial)
	putWriteBuf(&small)
	require.Empty(t, writeBufList, "a buffer that never grew goes to the pool")
	huge := make([]byte, 0, writeBufKeepMax+1)
	putWriteBuf(&huge)
	require.Empty(t, writeBufList, "a buffer grown past a write's worth is not pinned")
}
