package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// metric describes one row of the table and its goal: ours/grpc-go must be
// at most goal when lowerIsBetter, else at least goal.
type metric struct {
	key, caseName, what string
	goal                float64
	lowerIsBetter       bool
	format              func(float64) string
}

var metrics = []metric{
	{mUnaryP50, "unary 1 B, concurrency 1", "p50 latency", 0.6, true, fmtDuration},
	{mUnaryAllocs, "unary 1 B, concurrency 1", "allocs/call (client+server)", 0.25, true, fmtFloat},
	{mUnary64, "unary 1 B, concurrency 64, 1 connection", "calls/s", 2, false, fmtFloat},
	{mStream, "server streaming 1 KiB", "msgs/s", 1.5, false, fmtFloat},
	{mPingPong, "bidi ping-pong 1 MiB", "MiB/s (both ways)", 1.5, false, func(v float64) string { return fmtFloat(v / (1 << 20)) }},
	{mIdleP99, "1,000 idle + 10 busy streams", "busy-stream p99 latency", 1, true, fmtDuration},
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

// results maps framework name to metric key to value.
type results map[string]map[string]float64

// writeTable prints the markdown table; a metric missing for either
// framework (a case failed or was not selected) shows "n/a".
func writeTable(w io.Writer, r results, ours, theirs string) {
	fmt.Fprintf(w, "| case | metric | %s | %s | %s/%s | goal | met |\n", ours, theirs, ours, theirs)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---|")
	for _, m := range metrics {
		a, okA := r[ours][m.key]
		b, okB := r[theirs][m.key]
		cell := func(v float64, ok bool) string {
			if !ok {
				return "n/a"
			}
			return m.format(v)
		}
		goal := fmt.Sprintf(">= %gx", m.goal)
		if m.lowerIsBetter {
			goal = fmt.Sprintf("<= %gx", m.goal)
		}
		ratio, met := "n/a", "n/a"
		if okA && okB && b != 0 {
			q := a / b
			if pq, ok := r[pairKey(ours, theirs)][m.key]; ok {
				q = pq // the median of paired runs' ratios: see pairedRatios
			}
			ratio = fmt.Sprintf("%.2fx", q)
			met = yesNo(m.lowerIsBetter && q <= m.goal || !m.lowerIsBetter && q >= m.goal)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", m.caseName, m.what, cell(a, okA), cell(b, okB), ratio, goal, met)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

// splitList parses a comma-separated flag value; empty means all.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
