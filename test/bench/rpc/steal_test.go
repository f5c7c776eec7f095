package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStealShare(t *testing.T) {
	a, ok := parseCPULine("cpu  100 0 50 800 10 0 5 35 7 0\n")
	require.True(t, ok)
	require.Equal(t, cpuTimes{total: 1000, steal: 35}, a, "guest time is not counted twice")
	b, ok := parseCPULine("cpu  300 0 100 1300 10 0 15 275 0 0")
	require.True(t, ok)
	require.InDelta(t, 24.0, stealPercent(a, b), 1e-9) // 240 of 1000
	require.Zero(t, stealPercent(b, a))
	_, ok = parseCPULine("cpu0 1 2 3 4 5 6 7 8")
	require.False(t, ok)
	_, ok = parseCPULine("cpu 1 2 x 4 5 6 7 8")
	require.False(t, ok)
}
