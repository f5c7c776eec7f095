package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The resident set grows by what the process touches: a fresh 64 MiB
// slice written page by page adds (nearly) 64 MiB once freed memory has
// gone back to the OS first.
func TestResidentBytesGrowsWithTouchedMemory(t *testing.T) {
	before, err := releasedRSS()
	require.NoError(t, err)
	require.Positive(t, before)

	const size = 64 * mib
	b := make([]byte, size)
	for i := 0; i < size; i += os.Getpagesize() {
		b[i] = 1
	}
	after, err := residentBytes()
	require.NoError(t, err)
	runtime.KeepAlive(b)
	require.Greater(t, after, before)
	require.GreaterOrEqual(t, after-before, uint64(size*3/4), "grew by %d bytes", after-before)
}

// residentBytes reads the resident set, not the mapped size: it agrees with
// the VmRSS line of /proc/self/status (within 1 MiB, read a moment apart).
func TestResidentBytesIsVmRSS(t *testing.T) {
	got, err := residentBytes()
	require.NoError(t, err)
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	var kb uint64
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			_, err := fmt.Sscanf(rest, "%d kB", &kb)
			require.NoError(t, err)
		}
	}
	require.Positive(t, kb, "no VmRSS in /proc/self/status")
	require.InDelta(t, float64(kb*kib), float64(got), mib)
}
