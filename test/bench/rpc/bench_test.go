package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestQuickRunMeasuresEverything runs every case on both frameworks with
// tiny windows: each metric must come out positive for both.
func TestQuickRunMeasuresEverything(t *testing.T) {
	var log bytes.Buffer
	r, err := run(context.Background(), options{tm: timing{50 * time.Millisecond, 400 * time.Millisecond}}, &log)
	require.NoError(t, err, log.String())
	for _, fw := range []string{"h2rpc", "grpc-go"} {
		for _, m := range metrics {
			require.Greater(t, r[fw][m.key], 0.0, "%s %s", fw, m.key)
		}
	}
	var out bytes.Buffer
	writeTable(&out, r, "h2rpc", "grpc-go")
	require.Equal(t, len(metrics)+2, strings.Count(out.String(), "\n"))
	require.NotContains(t, out.String(), "n/a")
}

func TestRunSelectsAndRejects(t *testing.T) {
	var log bytes.Buffer
	r, err := run(context.Background(), options{tm: timing{100 * time.Millisecond, 300 * time.Millisecond}, frameworks: []string{"h2rpc"}, cases: []string{"unary64"}}, &log)
	require.NoError(t, err)
	require.Len(t, r, 1)
	require.Len(t, r["h2rpc"], 1)
	require.Greater(t, r["h2rpc"][mUnary64], 0.0)

	_, err = run(context.Background(), options{frameworks: []string{"nope"}}, &log)
	require.ErrorContains(t, err, `unknown framework "nope"`)
	_, err = run(context.Background(), options{cases: []string{"nope"}}, &log)
	require.ErrorContains(t, err, `unknown case "nope"`)
}

func TestWriteTableRatiosAndGoals(t *testing.T) {
	r := results{
		"a": {mUnaryP50: 50, mUnary64: 300, mStream: 10},
		"b": {mUnaryP50: 100, mUnary64: 100},
	}
	var out bytes.Buffer
	writeTable(&out, r, "a", "b")
	lines := strings.Split(out.String(), "\n")
	require.Contains(t, lines[2], "| 0.50x | <= 0.6x | yes |")
	require.Contains(t, lines[4], "| 3.00x | >= 2x | yes |")
	require.Contains(t, lines[5], "| 10.0 | n/a | n/a | >= 1.5x | n/a |")

	r["a"][mUnaryP50] = 90
	out.Reset()
	writeTable(&out, r, "a", "b")
	require.Contains(t, strings.Split(out.String(), "\n")[2], "| 0.90x | <= 0.6x | **no** |")
}

// TestPairedRatios: the ratio column is the median of each run pair's
// ratio when runs were paired, not the ratio of the two medians.
func TestPairedRatios(t *testing.T) {
	ours := map[string][]float64{mUnary64: {100, 200, 300}, mStream: {1, 2}}
	theirs := map[string][]float64{mUnary64: {50, 150, 100}, mStream: {1}}
	q := pairedRatios(ours, theirs)
	require.InDelta(t, 2.0, q[mUnary64], 1e-9, "ratios 2, 1.33, 3: median 2")
	require.NotContains(t, q, mStream, "unpaired runs give no paired ratio")

	r := results{"a": {mUnary64: 200}, "b": {mUnary64: 150}, pairKey("a", "b"): q}
	var out bytes.Buffer
	writeTable(&out, r, "a", "b")
	require.Contains(t, out.String(), "| 200 | 150 | 2.00x | >= 2x | yes |", "2.00x, not 200/150")
}

func TestMedianOfRuns(t *testing.T) {
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	require.Equal(t, 7.0, median([]float64{7}))

	var log bytes.Buffer
	r, err := run(context.Background(), options{tm: timing{100 * time.Millisecond, 300 * time.Millisecond}, runs: 3, frameworks: []string{"h2rpc"}, cases: []string{"unary"}}, &log)
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(log.String(), "done: h2rpc    unary"))
	require.Greater(t, r["h2rpc"][mUnaryP50], 0.0)
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	require.Equal(t, time.Duration(3), percentile(d, 0.5))
	require.Equal(t, time.Duration(5), percentile(d, 1))
	require.Equal(t, time.Duration(0), percentile(nil, 0.5))
}

func TestServiceRejectsOversizedPayloads(t *testing.T) {
	_, err := body(maxPayload + 1)
	require.Error(t, err)
	_, err = body(-1)
	require.Error(t, err)
	b, err := body(3)
	require.NoError(t, err)
	require.Len(t, b, 3)
}
