package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var smoke = options{tm: timing{0, 50 * time.Millisecond}, runs: 1, smoke: true}

// TestMatrixSmoke runs every case of the matrix, legacy ones included, on
// every stack once with few messages and short windows: each must finish
// without error and report positive figures for each of its rows, with
// allocation counts beside the throughput and latency rows. It proves the
// matrix works, not how fast anything is.
func TestMatrixSmoke(t *testing.T) {
	o := smoke
	o.cases = []string{""} // every case, the legacy ones too
	var log bytes.Buffer
	r, err := run(context.Background(), o, &log)
	require.NoError(t, err, log.String())
	require.Len(t, r.cases, len(matrix))
	for _, c := range matrix {
		for _, s := range []string{ours, grpcGo, connGo, tcpFloor} {
			if !c.runsOn(s) {
				require.NotContains(t, r.median[s], metricKey(c.name, c.rows[0].key), "%s ran %s", s, c.name)
				continue
			}
			for _, rw := range c.rows {
				require.Greater(t, r.median[s][metricKey(c.name, rw.key)], 0.0, "%s %s %s", s, c.name, rw.key)
			}
			if c.rows[0].key == kRate && !c.legacy || c.floor {
				require.Greater(t, r.median[s][metricKey(c.name, kAllocs)], 0.0, "%s %s allocs", s, c.name)
				require.Greater(t, r.median[s][metricKey(c.name, kBytes)], 0.0, "%s %s bytes", s, c.name)
				require.Greater(t, r.median[s][metricKey(c.name, kCPU)], 0.0, "%s %s CPU", s, c.name)
			}
		}
		if !c.floor {
			for _, peer := range []string{grpcGo, connGo} {
				if !c.runsOn(peer) {
					continue
				}
				for _, rw := range c.rows {
					require.Greater(t, r.ratio[peer][metricKey(c.name, rw.key)], 0.0, "%s %s vs %s", c.name, rw.key, peer)
				}
			}
		}
	}
	require.Greater(t, r.floor[ours]["unary/1B-c1"], 0.0)
	for c, f := range rateFloorFor {
		require.True(t, slices.ContainsFunc(matrix, func(m benchCase) bool { return m.name == c && !m.floor }), "%s is a case of the stacks", c)
		require.True(t, slices.ContainsFunc(matrix, func(m benchCase) bool { return m.name == f && m.floor }), "%s is a floor", f)
		require.Greater(t, r.median[tcpFloor][metricKey(c, kFloorRate)], 0.0, "%s ran beside %s", f, c)
		for _, s := range []string{ours, grpcGo, connGo} {
			require.Greater(t, r.share[s][c], 0.0, "%s %s share of %s", s, c, f)
		}
	}

	out := table(r)
	require.NotContains(t, out, "n/a")
	for _, line := range []string{
		"| 1,000 idle connections | heap+stacks per connection |",
		"| 1,000 idle connections | RSS per connection |",
		"| 10,000 idle connections | heap+stacks per connection |",
		"| 10,000 idle connections | RSS per connection |",
		"| 10,000 idle streams on 1 connection | heap+stacks per stream |",
		"| 10,000 idle streams on 1 connection | RSS per stream |",
	} {
		require.Contains(t, out, line)
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, "idle connections") {
			require.Contains(t, line, " | — | ", "connect-go does not run the memory cases")
		}
	}
	rows := 0
	for _, c := range matrix {
		rows += len(c.rows)
	}
	rows += len(floorFor) + len(rateFloorFor)
	require.Equal(t, rows+2+2, strings.Count(out, "\n"), "header, rows, blank line and the goals line")
}

func TestRunSelectsAndRejects(t *testing.T) {
	var log bytes.Buffer
	o := smoke
	o.stacks, o.cases = []string{ours}, []string{"unary/1B-c64"}
	r, err := run(context.Background(), o, &log)
	require.NoError(t, err)
	require.Len(t, r.cases, 1)
	require.Len(t, r.median, 1)
	require.Greater(t, r.median[ours][metricKey("unary/1B-c64", kRate)], 0.0)

	require.False(t, options{}.selected(benchCase{name: "legacy/x", legacy: true}), "legacy cases are opt-in")
	require.True(t, options{cases: []string{"legacy"}}.selected(benchCase{name: "legacy/x", legacy: true}))
	require.True(t, options{cases: []string{"server-stream/8x"}}.selected(benchCase{name: "server-stream/8x100x1KiB"}))
	require.False(t, options{cases: []string{"server-stream/8x"}}.selected(benchCase{name: "client-stream/8x100x1KiB"}))

	_, err = run(context.Background(), options{stacks: []string{"nope"}}, &log)
	require.ErrorContains(t, err, `unknown framework "nope"`)
	_, err = run(context.Background(), options{cases: []string{"nope"}}, &log)
	require.ErrorContains(t, err, `unknown case "nope"`)
}

// TestRoundOrder: h2rpc runs right beside each peer in every round.
func TestRoundOrder(t *testing.T) {
	for i := range 4 {
		o := roundOrder(i)
		require.Equal(t, ours, o[1])
		require.ElementsMatch(t, []string{grpcGo, connGo}, []string{o[0], o[2]})
	}
	require.NotEqual(t, roundOrder(0), roundOrder(1))
}

// table is the markdown table writeTable prints for r.
func table(r *results) string {
	var out strings.Builder
	writeTable(&out, r)
	return out.String()
}

func TestWriteTableRatiosAndGoals(t *testing.T) {
	c := benchCase{name: "x", what: "shape x", rows: []row{{kRate, "calls/s", throughput}, {kP50, "p50 latency", latency}}}
	r := &results{
		cases: []benchCase{c},
		median: map[string]map[string]float64{
			ours:   {"x|rate": 300, "x|p50": 50000, "x|allocs": 20, "x|bytes": 2048},
			grpcGo: {"x|rate": 100, "x|p50": 100000, "x|allocs": 150, "x|bytes": 4096},
			connGo: {"x|rate": 120, "x|p50": 200000},
		},
		ratio: map[string]map[string]float64{
			grpcGo: {"x|rate": 3, "x|p50": 0.9},
			connGo: {"x|rate": 2.5, "x|p50": 0.25},
		},
	}
	out := table(r)
	lines := strings.Split(out, "\n")
	require.Equal(t, "| shape x | calls/s | 300 | 100 | 120 | 3.00x (≥1.5x yes) | 2.50x (≥3x **no**) | 20.0 · 150 · n/a | 2.0 KiB · 4.0 KiB · n/a |", lines[2])
	require.Equal(t, "| shape x | p50 latency | 50µs | 100µs | 200µs | 0.90x (≤0.6x **no**) | 0.25x |  |  |", lines[3])
	require.Contains(t, out, "goals met: 1 of 3")
}

// TestWriteTableFloorRow: unary c=1 gets a row of each stack's p50 over
// the bare-TCP floor's run beside it, judged against the goal for h2rpc;
// the row names the beside floor's p50, not the floor case's own.
func TestWriteTableFloorRow(t *testing.T) {
	c := benchCase{name: "unary/1B-c1", what: "unary 1 B, c=1", rows: []row{{kP50, "p50 latency", latency}}}
	f := benchCase{name: "floor/tcp-1B", what: "floor", floor: true, rows: []row{{kP50, "p50 latency", info}}}
	r := &results{
		cases:  []benchCase{f, c},
		median: map[string]map[string]float64{tcpFloor: {"floor/tcp-1B|p50": 20000, "unary/1B-c1|floor-p50": 22000}},
		floor:  map[string]map[string]float64{ours: {c.name: 1.4}, grpcGo: {c.name: 2.5}, connGo: {c.name: 9}},
	}
	out := table(r)
	require.Contains(t, out, "| floor | p50 latency | tcp: 20µs |")
	require.Contains(t, out, "| unary 1 B, c=1 | p50 / TCP floor p50 (22µs beside it) | 1.40x | 2.50x | 9.00x | h2rpc 1.40x (≤1.5x yes) |")
	require.Contains(t, out, "goals met: 1 of 1")
}

// TestWriteTableFloorRowWithoutFloorBeside: with no floor run beside unary
// c=1 (-beside=false) the row says so and judges nothing, rather than
// divide by the floor case's own p50, taken minutes apart.
func TestWriteTableFloorRowWithoutFloorBeside(t *testing.T) {
	c := benchCase{name: "unary/1B-c1", what: "unary 1 B, c=1", rows: []row{{kP50, "p50 latency", info}}}
	f := benchCase{name: "floor/tcp-1B", what: "floor", floor: true, rows: []row{{kP50, "p50 latency", info}}}
	r := &results{
		cases: []benchCase{f, c},
		median: map[string]map[string]float64{
			tcpFloor: {"floor/tcp-1B|p50": 20000},
			ours:     {"unary/1B-c1|p50": 30000},
		},
	}
	out := table(r)
	require.Contains(t, out, "| unary 1 B, c=1 | p50 / TCP floor p50 | no floor beside | no floor beside | no floor beside | not judged: no floor ran beside it (-beside=false) |  |  |  |")
	require.Contains(t, out, "goals met: 0 of 0")
}

// shareResults is the results of one case read against a rate floor: the
// floor's rate beside it, each stack's rate and share of the floor (h2rpc,
// grpc-go, connect-go), and h2rpc's ratios to the peers from those rates.
func shareResults(c benchCase, floorRate float64, rates, shares [3]float64) *results {
	k := metricKey(c.name, kRate)
	return &results{
		cases: []benchCase{c},
		median: map[string]map[string]float64{
			tcpFloor: {metricKey(c.name, kFloorRate): floorRate},
			ours:     {k: rates[0]},
			grpcGo:   {k: rates[1]},
			connGo:   {k: rates[2]},
		},
		ratio: map[string]map[string]float64{grpcGo: {k: rates[0] / rates[1]}, connGo: {k: rates[0] / rates[2]}},
		share: map[string]map[string]float64{ours: {c.name: shares[0]}, grpcGo: {c.name: shares[1]}, connGo: {c.name: shares[2]}},
	}
}

// TestWriteTableShareRow: a large-message case with a proto floor gets a
// row of the floor's figure, each stack's rate as a share of it and where
// each throughput goal falls as a share of it; the row judges nothing, so
// the goals line counts only the case's own row.
func TestWriteTableShareRow(t *testing.T) {
	c := benchCase{name: "bidi/pingpong-1MiB", what: "bidi ping-pong 1 MiB", rows: rateRow("round trips/s")}
	r := shareResults(c, 1000, [3]float64{500, 400, 200}, [3]float64{0.5, 0.4, 0.2})
	out := table(r)
	require.Contains(t, out, "| bidi ping-pong 1 MiB | share of the proto floor's 1000 round trips/s | 50 % | 40 % | 20 % | goal 1.5x grpc-go = 60 % | goal 3x connect-go = 60 % |  |  |")
	require.Contains(t, out, "goals met: 0 of 2")

	r.share[grpcGo][c.name] = 0.8
	out = table(r)
	require.Contains(t, out, "| 50 % | 80 % | 20 % | goal 1.5x grpc-go = 120 % (above the floor) |")

	r.share[connGo][c.name] = 0.334 // 3x is 100.2 %, printed as 100 %
	out = table(r)
	require.Contains(t, out, "| 33 % | goal 1.5x grpc-go = 120 % (above the floor) | goal 3x connect-go = 100 % |  |  |")

	delete(r.median, tcpFloor)
	out = table(r)
	require.NotContains(t, out, "share of", "no floor run, no row")
}

// TestWriteTableTCPShareRow: bidi ping-pong 1 KiB gets the same share row
// against the bare TCP 1 KiB echo run beside it, named as the TCP floor.
func TestWriteTableTCPShareRow(t *testing.T) {
	c := benchCase{name: "bidi/pingpong-1KiB", what: "bidi ping-pong 1 KiB", rows: rateRow("round trips/s")}
	r := shareResults(c, 40000, [3]float64{22000, 25000, 12000}, [3]float64{0.55, 0.62, 0.3})
	out := table(r)
	require.Contains(t, out, "| bidi ping-pong 1 KiB | share of the TCP floor's 40000 round trips/s | 55 % | 62 % | 30 % | goal 1.5x grpc-go = 93 % | goal 3x connect-go = 90 % |  |  |")
	require.Contains(t, out, "goals met: 0 of 2")

	r.share[grpcGo][c.name] = 0.7
	out = table(r)
	require.Contains(t, out, "| goal 1.5x grpc-go = 105 % (above the floor) |")
}

// TestAgainstBesidePairsRounds: the floor ratios pair each stack's round
// with the floor run beside it in the same round (the median of the
// per-round ratios), never with the floor case's own rounds.
func TestAgainstBesidePairsRounds(t *testing.T) {
	all := map[string]map[string][]float64{
		ours:   {"unary/1B-c1|p50": {30, 60, 45}, "bidi/pingpong-1KiB|rate": {10, 30, 50}},
		grpcGo: {"unary/1B-c1|p50": {40, 80, 30}},
		tcpFloor: {
			"unary/1B-c1|floor-p50":         {20, 40, 15},
			"floor/tcp-1B|p50":              {10, 10, 10}, // the floor's own case, run at other times
			"bidi/pingpong-1KiB|floor-rate": {20, 40, 100},
			"floor/tcp-1KiB|rate":           {1000}, // likewise
		},
	}
	floor, share := againstBeside(all)
	require.InDelta(t, 1.5, floor[ours]["unary/1B-c1"], 1e-9, "ratios 1.5, 1.5, 3: median 1.5 (the medians' ratio is 2.25)")
	require.InDelta(t, 2.0, floor[grpcGo]["unary/1B-c1"], 1e-9, "ratios 2, 2, 2")
	require.NotContains(t, floor, connGo, "a stack that did not run has no ratio")
	require.InDelta(t, 0.5, share[ours]["bidi/pingpong-1KiB"], 1e-9, "shares 0.5, 0.75, 0.5: median 0.5 (the medians' ratio is 0.75)")
	require.NotContains(t, share[ours], "unary/1B-c1", "a latency floor gives no share")

	all[tcpFloor]["unary/1B-c1|floor-p50"] = all[tcpFloor]["unary/1B-c1|floor-p50"][:2]
	floor, _ = againstBeside(all)
	require.NotContains(t, floor[ours], "unary/1B-c1", "rounds without a floor beside them are not paired")
}

// TestFloorRunsBeside: every round of unary 1 B at c=1 and of ping-pong
// 1 KiB runs its TCP floor right after the stacks, and the case alone,
// without the floor's own case, gives its floor row.
func TestFloorRunsBeside(t *testing.T) {
	for _, tc := range []struct{ name, floor, key, row string }{
		{"unary/1B-c1", "floor/tcp-1B", kFloorP50, "| p50 / TCP floor p50 ("},
		{"bidi/pingpong-1KiB", "floor/tcp-1KiB", kFloorRate, "| share of the TCP floor's "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smoke
			o.cases, o.stacks, o.runs = []string{tc.name}, []string{ours}, 2
			var log bytes.Buffer
			r, err := run(context.Background(), o, &log)
			require.NoError(t, err, log.String())
			require.Equal(t, 2, strings.Count(log.String(), "beside it, "+tc.floor+":"), log.String())
			require.Greater(t, r.median[tcpFloor][metricKey(tc.name, tc.key)], 0.0)
			require.NotContains(t, r.median[tcpFloor], metricKey(tc.floor, kP50), "the floor's own case did not run")
			out := table(r)
			var line string
			for l := range strings.Lines(out) {
				if strings.Contains(l, tc.row) {
					line = l
				}
			}
			require.NotEmpty(t, line, out)
			require.Regexp(t, `^\| [^|]+ \| [^|]+ \| \d+(\.\d+x| %) \| n/a \| n/a \|`, line, "h2rpc's figure, no peer run")
		})
	}
}

// TestPairedRatios: the ratio column is the median of each round pair's
// ratio, not the ratio of the two medians.
func TestPairedRatios(t *testing.T) {
	ours := map[string][]float64{"a": {100, 200, 300}, "b": {1, 2}}
	theirs := map[string][]float64{"a": {50, 150, 100}, "b": {1}}
	q := pairedRatios(ours, theirs)
	require.InDelta(t, 2.0, q["a"], 1e-9, "ratios 2, 1.33, 3: median 2")
	require.NotContains(t, q, "b", "unpaired rounds give no paired ratio")
}

func TestMedian(t *testing.T) {
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	require.Equal(t, 7.0, median([]float64{7}))
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	require.Equal(t, time.Duration(3), percentile(d, 0.5))
	require.Equal(t, time.Duration(5), percentile(d, 1))
	require.Equal(t, time.Duration(0), percentile(nil, 0.5))
}

func TestSizeNames(t *testing.T) {
	require.Equal(t, "64B", sizeName(64))
	require.Equal(t, "1KiB", sizeName(kib))
	require.Equal(t, "64 KiB", humanSize(64*kib))
	require.Equal(t, "1 MiB", humanSize(mib))
	require.Equal(t, "10,000", countOf(10000))
	require.Equal(t, "100", countOf(100))
	require.Equal(t, "1 stream", streamsOf(1))
	require.Equal(t, "64 streams", streamsOf(64))
}

// TestNoBesideRunsNoFloor: with -beside=false the cases read against a
// floor run on the stacks alone, so that a profile or trace of them holds
// no floor's work; the table has no share row for them, and unary c=1's
// floor row says it had no floor beside it.
func TestNoBesideRunsNoFloor(t *testing.T) {
	o := smoke
	o.cases, o.stacks, o.noBeside = []string{"unary/64KiB-c8", "unary/1B-c1", "bidi/pingpong-1KiB"}, []string{ours}, true
	var log bytes.Buffer
	r, err := run(context.Background(), o, &log)
	require.NoError(t, err, log.String())
	require.Greater(t, r.median[ours][metricKey("unary/64KiB-c8", kRate)], 0.0)
	require.NotContains(t, r.median, tcpFloor, "no floor ran")
	require.NotContains(t, log.String(), "beside it")
	out := table(r)
	require.NotContains(t, out, "share of the")
	require.Contains(t, out, "| p50 / TCP floor p50 | no floor beside |")
}
