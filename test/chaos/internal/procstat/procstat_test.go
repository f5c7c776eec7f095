package procstat

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFetchReadsTheServingProcess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	defer http.DefaultClient.CloseIdleConnections() // the server's side of them ends too
	Serve(l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, gc := range []bool{false, true} {
		s, err := Fetch(ctx, l.Addr().String(), gc)
		require.NoError(t, err)
		require.Positive(t, s.Goroutines)
		require.Positive(t, s.HeapAlloc)
		require.GreaterOrEqual(t, s.HeapInuse, s.HeapAlloc/2)
		require.Positive(t, s.RSS, "VmRSS from /proc/self/status")
		require.Positive(t, s.OpenFiles, "at least the listener")
	}
}

// settledOpenFiles waits until the process's count of open files stops
// changing (an earlier test's connections may still be closing on the
// server's side) and returns it.
func settledOpenFiles(t *testing.T) int {
	last := Take(false).OpenFiles
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		n := Take(false).OpenFiles
		if n == last {
			return n
		}
		last = n
	}
	t.Fatalf("the count of open files kept changing (last %d)", last)
	return 0
}

func TestOpenFilesCountsConnections(t *testing.T) {
	before := settledOpenFiles(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.Equal(t, before+1, Take(false).OpenFiles)
	require.NoError(t, l.Close())
	require.Equal(t, before, Take(false).OpenFiles)
}

func TestFetchFailsWithoutEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = Fetch(context.Background(), addr, false)
	require.ErrorContains(t, err, "procstat: fetching")
}

func TestRaiseFileLimitReachesTheHardLimit(t *testing.T) {
	n, err := RaiseFileLimit()
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, uint64(1024))
}
