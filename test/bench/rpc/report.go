package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// goal is a bound on h2rpc's ratio to one peer.
type goal struct {
	bound         float64
	lowerIsBetter bool
}

// goals are issue 13's, per kind of row and peer; a missing entry is a
// row shown without a goal.
var goals = map[kind]map[string]goal{
	throughput: {grpcGo: {1.5, false}, connGo: {3, false}},
	latency:    {grpcGo: {0.6, true}},
	memory:     {grpcGo: {1, true}},
}

// floorGoal bounds unary c=1 p50 against the bare-TCP floor's.
var floorGoal = goal{1.5, true}

func (g goal) String() string {
	if g.lowerIsBetter {
		return fmt.Sprintf("≤%gx", g.bound)
	}
	return fmt.Sprintf("≥%gx", g.bound)
}

func (g goal) met(q float64) bool {
	if g.lowerIsBetter {
		return q <= g.bound
	}
	return q >= g.bound
}

// notInCase marks the cells of a stack that a case does not run on.
const notInCase = "—"

// tableStacks are the value columns, ours first.
var tableStacks = []string{ours, grpcGo, connGo}

// writeTable prints the markdown table: per row each stack's median, the
// ratios of h2rpc to each peer with the goal beside them, and the
// allocations and bytes allocated per operation (client and server
// together). A cell whose figure is missing (a stack not selected) shows
// "n/a". A last line counts the goals met.
func writeTable(w io.Writer, r *results) {
	fmt.Fprintln(w, "| case | metric | h2rpc | grpc-go | connect-go | h2rpc/grpc-go | h2rpc/connect-go | allocs/op (h2rpc · grpc-go · connect-go) | B/op (h2rpc · grpc-go · connect-go) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---|---:|---:|")
	var met, judged int
	judge := func(g goal, q float64) string {
		judged++
		if g.met(q) {
			met++
			return fmt.Sprintf("%.2fx (%s yes)", q, g)
		}
		return fmt.Sprintf("%.2fx (%s **no**)", q, g)
	}
	for _, c := range r.cases {
		for i, rw := range c.rows {
			k := metricKey(c.name, rw.key)
			cells := make([]string, 0, 9)
			cells = append(cells, c.what, rw.label)
			if c.floor {
				cells = append(cells, "tcp: "+cellValue(r.median[tcpFloor], k, rw), "", "", "", "", "", "")
				fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
				continue
			}
			for _, s := range tableStacks {
				if !c.runsOn(s) {
					cells = append(cells, notInCase)
					continue
				}
				cells = append(cells, cellValue(r.median[s], k, rw))
			}
			for _, peer := range []string{grpcGo, connGo} {
				q, ok := r.ratio[peer][k]
				g, hasGoal := goals[rw.kind][peer]
				switch {
				case !c.runsOn(peer):
					cells = append(cells, notInCase)
				case !ok:
					cells = append(cells, "n/a")
				case hasGoal:
					cells = append(cells, judge(g, q))
				default:
					cells = append(cells, fmt.Sprintf("%.2fx", q))
				}
			}
			allocs, bytes := "", ""
			if i == 0 {
				allocs = perStack(r, metricKey(c.name, kAllocs), fmtFloat)
				bytes = perStack(r, metricKey(c.name, kBytes), fmtBytes)
			}
			cells = append(cells, allocs, bytes)
			fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
		}
		if _, ok := floorFor[c.name]; ok {
			fmt.Fprintln(w, latencyFloorRow(r, c, judge))
		}
		if line, ok := shareRow(r, c); ok {
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintf(w, "\ngoals met: %d of %d\n", met, judged)
}

// latencyFloorRow is the row under a case with a latency floor (floorFor):
// the floor's p50 (its median over the rounds it ran beside the case's),
// each stack's p50 over the floor's p50 of the same round (the median of
// the per-round ratios), and h2rpc's judged against floorGoal. Without a
// floor beside the case (-beside=false) the row says so and judges
// nothing, rather than fall back on the floor's own rows: those ran
// minutes apart, and on this VM the c=1 figures move by 6-13 µs between
// runs, more than the goal's margin.
func latencyFloorRow(r *results, c benchCase, judge func(goal, float64) string) string {
	fl, ok := r.median[tcpFloor][metricKey(c.name, kFloorP50)]
	if !ok {
		const none = "no floor beside"
		return "| " + strings.Join([]string{c.what, "p50 / TCP floor p50", none, none, none,
			"not judged: no floor ran beside it (-beside=false)", "", "", ""}, " | ") + " |"
	}
	cells := []string{c.what, fmt.Sprintf("p50 / TCP floor p50 (%s beside it)", fmtDuration(fl))}
	for _, s := range tableStacks {
		if q, ok := r.floor[s][c.name]; ok {
			cells = append(cells, fmt.Sprintf("%.2fx", q))
		} else {
			cells = append(cells, "n/a")
		}
	}
	if q, ok := r.floor[ours][c.name]; ok {
		cells = append(cells, "h2rpc "+judge(floorGoal, q), "", "", "")
	} else {
		cells = append(cells, "n/a", "", "", "")
	}
	return "| " + strings.Join(cells, " | ") + " |"
}

// shareRow is the row under a case that has a rate floor (rateFloorFor):
// the floor's figure, each stack's rate as a share of it, and where each
// throughput goal (a multiple of a peer's rate) falls as a share of it, so
// that a goal above 100 % reads as beyond what the machine does with no
// framework at all. The floor's figure is its median over the rounds it
// ran beside the case's. Shares are not goals and count in no total. No
// row when the floor did not run.
func shareRow(r *results, c benchCase) (string, bool) {
	fl, ok := r.median[tcpFloor][metricKey(c.name, kFloorRate)]
	if !ok {
		return "", false
	}
	cells := []string{c.what, fmt.Sprintf("share of the %s's %s %s", floorNoun(rateFloorFor[c.name]), fmtFloat(fl), c.rows[0].label)}
	for _, s := range tableStacks {
		if q, ok := r.share[s][c.name]; ok {
			cells = append(cells, fmtShare(q))
		} else {
			cells = append(cells, "n/a")
		}
	}
	for _, peer := range []string{grpcGo, connGo} {
		g := goals[throughput][peer]
		q, ok := r.share[peer][c.name]
		switch {
		case !ok:
			cells = append(cells, "n/a")
		case math.Round(100*g.bound*q) > 100: // as printed: 100.4 % shows as 100 % and is not above
			cells = append(cells, fmt.Sprintf("goal %gx %s = %s (above the floor)", g.bound, peer, fmtShare(g.bound*q)))
		default:
			cells = append(cells, fmt.Sprintf("goal %gx %s = %s", g.bound, peer, fmtShare(g.bound*q)))
		}
	}
	cells = append(cells, "", "")
	return "| " + strings.Join(cells, " | ") + " |", true
}

// fmtShare writes a fraction as a whole percentage.
func fmtShare(q float64) string { return fmt.Sprintf("%.0f %%", 100*q) }

// cellValue formats one stack's median of metric k for row rw.
func cellValue(m map[string]float64, k string, rw row) string {
	v, ok := m[k]
	if !ok {
		return "n/a"
	}
	switch rw.key {
	case kP50, kP99:
		return fmtDuration(v)
	case kMem, kRSS:
		return fmtBytes(v)
	}
	return fmtFloat(v)
}

// perStack joins the stacks' medians of metric k; empty when none has it.
func perStack(r *results, k string, format func(float64) string) string {
	parts := make([]string, 0, len(tableStacks))
	seen := false
	for _, s := range tableStacks {
		v, ok := r.median[s][k]
		if !ok {
			parts = append(parts, "n/a")
			continue
		}
		seen = true
		parts = append(parts, format(v))
	}
	if !seen {
		return ""
	}
	return strings.Join(parts, " · ")
}

func fmtDuration(ns float64) string {
	return time.Duration(ns).Round(100 * time.Nanosecond).String()
}

func fmtFloat(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func fmtBytes(v float64) string {
	switch {
	case v >= mib:
		return fmt.Sprintf("%.1f MiB", v/mib)
	case v >= 10*kib:
		return fmt.Sprintf("%.0f KiB", v/kib)
	case v >= kib:
		return fmt.Sprintf("%.1f KiB", v/kib)
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}
