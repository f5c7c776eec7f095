package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// One writer pass that ends many small responses reads the clock once for
// all their stamps (write_clock.go); outside a pass, a close reads it itself.
func TestWriterPassReadsClockOnce(t *testing.T) {
	s := writerSession(t, Options{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote.MaxConcurrentStreams = Unlimited
	var streams []*Stream
	for id := uint32(1); id <= 15; id += 2 {
		st := openStream(s, id, []byte("hello"))
		st.state = stateHalfClosedRemote // the peer ended its side: our END_STREAM closes it
		st.queued.end()
		s.sched.update(s, st)
		streams = append(streams, st)
	}
	reads := 0
	clockReads = &reads
	t.Cleanup(func() { clockReads = nil })

	s.fillDataLocked()
	require.Equal(t, 1, reads, "one clock read for the pass, not two per stream")
	for _, st := range streams {
		require.Equal(t, stateClosed, st.state)
		require.Equal(t, int64(5), st.stats.bytesSent)
		require.Equal(t, streams[0].stats.closed, st.stats.closed, "stream %d", st.id)
		require.Equal(t, st.stats.closed, st.stats.firstByteSent, "stream %d", st.id)
		require.GreaterOrEqual(t, st.stats.closed, st.stats.opened)
	}

	st := s.newStreamLocked(17, nil)
	reads = 0
	st.closeLocked()
	require.Equal(t, 1, reads, "a close outside a pass reads the clock")
	require.GreaterOrEqual(t, st.stats.closed, streams[0].stats.closed)
}
