package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

type options struct {
	tm     timing
	runs   int      // rounds; each metric reports the median
	stacks []string // empty: all
	cases  []string // name prefixes; empty: every case but the legacy ones
	smoke  bool     // shrink counts (the tests' mode)
	// noBeside leaves out the floor run beside each case that is read
	// against one (runFloorBeside), for profiles of the stacks alone.
	noBeside bool
}

// selected reports whether c runs under the -case patterns.
func (o options) selected(c benchCase) bool {
	if len(o.cases) == 0 {
		return !c.legacy
	}
	return slices.ContainsFunc(o.cases, func(p string) bool { return strings.HasPrefix(c.name, p) })
}

// roundOrder is the stacks of round i in running order: h2rpc always sits
// between its two peers, so each of its rounds runs right beside each
// peer's, and the peers swap sides every round.
func roundOrder(i int) []string {
	if i%2 == 0 {
		return []string{grpcGo, ours, connGo}
	}
	return []string{connGo, ours, grpcGo}
}

// results are the medians and the paired ratios of a run.
type results struct {
	cases  []benchCase
	median map[string]map[string]float64 // stack -> metric key -> median
	ratio  map[string]map[string]float64 // peer -> metric key -> median of h2rpc/peer per round
	floor  map[string]map[string]float64 // stack -> case -> median of p50/floor p50 per round
	share  map[string]map[string]float64 // stack -> case -> median of rate/its floor's rate per round
}

// metricKey names a case's metric in the results.
func metricKey(caseName, key string) string { return caseName + "|" + key }

// run runs the selected cases on the selected stacks, each case round on a
// fresh server and client so that cases do not disturb each other.
func run(ctx context.Context, o options, log io.Writer) (*results, error) {
	for _, s := range o.stacks {
		if _, ok := stackByName(s); !ok {
			return nil, fmt.Errorf("unknown framework %q (h2rpc, grpc-go, connect-go)", s)
		}
	}
	for _, p := range o.cases {
		if !slices.ContainsFunc(matrix, func(c benchCase) bool { return strings.HasPrefix(c.name, p) }) {
			return nil, fmt.Errorf("unknown case %q (see -list)", p)
		}
	}
	if err := reserveFiles(o); err != nil {
		return nil, err
	}
	all := map[string]map[string][]float64{}
	r := &results{}
	for _, bc := range matrix {
		if !o.selected(bc) {
			continue
		}
		r.cases = append(r.cases, bc)
		for round := range max(o.runs, 1) {
			for _, name := range append(roundOrder(round), tcpFloor) {
				if !bc.runsOn(name) || name != tcpFloor && len(o.stacks) > 0 && !slices.Contains(o.stacks, name) {
					continue
				}
				m, err := runOnce(ctx, o, bc, name)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", name, bc.name, err)
				}
				if all[name] == nil {
					all[name] = map[string][]float64{}
				}
				for k, v := range m {
					all[name][metricKey(bc.name, k)] = append(all[name][metricKey(bc.name, k)], v)
				}
				fmt.Fprintf(log, "done: %-10s %-32s round %d %s\n", name, bc.name, round+1, fmtLog(m))
			}
			if err := runFloorBeside(ctx, o, bc, round, all, log); err != nil {
				return nil, err
			}
		}
	}
	r.median = map[string]map[string]float64{}
	for s, ms := range all {
		r.median[s] = map[string]float64{}
		for k, vs := range ms {
			r.median[s][k] = median(vs)
		}
	}
	r.ratio = map[string]map[string]float64{}
	for _, peer := range []string{grpcGo, connGo} {
		r.ratio[peer] = pairedRatios(all[ours], all[peer])
	}
	r.floor, r.share = againstBeside(all)
	return r, nil
}

// againstBeside is each stack's figures read against the floors that ran
// beside them: p50 over the latency floor's p50 (floorFor) and rate as a
// share of the rate floor's (rateFloorFor), paired round by round. The
// floors' own cases are not used: they ran minutes apart from the case.
func againstBeside(all map[string]map[string][]float64) (floor, share map[string]map[string]float64) {
	p50s, rates := map[string]string{}, map[string]string{}
	for c := range floorFor {
		p50s[c] = metricKey(c, kFloorP50)
	}
	for c := range rateFloorFor {
		rates[c] = metricKey(c, kFloorRate)
	}
	return againstFloors(all, p50s, kP50), againstFloors(all, rates, kRate)
}

// runFloorBeside runs one round of bc's floor (floorBeside), if it has one,
// right after the stacks' round of bc, and keeps the floor's figure under
// bc's kFloorP50 or kFloorRate: each ratio to the floor then pairs figures
// measured seconds apart, where the floor's own case may have run many
// minutes earlier, and rates on a shared machine drift by half between the
// two (latencies at c=1 by 6-13 µs).
func runFloorBeside(ctx context.Context, o options, bc benchCase, round int, all map[string]map[string][]float64, log io.Writer) error {
	name, figure, key, ok := floorBeside(bc.name)
	if !ok || o.noBeside {
		return nil
	}
	i := slices.IndexFunc(matrix, func(c benchCase) bool { return c.name == name })
	if i < 0 {
		return fmt.Errorf("%s: no floor case %q", bc.name, name)
	}
	m, err := runOnce(ctx, o, matrix[i], tcpFloor)
	if err != nil {
		return fmt.Errorf("%s beside %s: %w", name, bc.name, err)
	}
	if all[tcpFloor] == nil {
		all[tcpFloor] = map[string][]float64{}
	}
	k := metricKey(bc.name, key)
	all[tcpFloor][k] = append(all[tcpFloor][k], m[figure])
	fmt.Fprintf(log, "done: %-10s %-32s round %d beside it, %s: %s\n", tcpFloor, bc.name, round+1, name, fmtLog(m))
	return nil
}

// againstFloors is, per stack and per case of floors (case -> the metric
// key of its floor's figure, a tcpFloor key), the median over rounds of
// the case's metric k over its floor's, paired round by round; a case or
// floor not run has none.
func againstFloors(all map[string]map[string][]float64, floors map[string]string, k string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for c, fk := range floors {
		fl := all[tcpFloor][fk]
		for _, s := range stacks {
			q := pairedRatios(map[string][]float64{c: all[s.name][metricKey(c, k)]}, map[string][]float64{c: fl})
			if v, ok := q[c]; ok {
				if out[s.name] == nil {
					out[s.name] = map[string]float64{}
				}
				out[s.name][c] = v
			}
		}
	}
	return out
}

// runOnce runs one round of bc on the named stack (or on bare TCP).
func runOnce(ctx context.Context, o options, bc benchCase, name string) (map[string]float64, error) {
	e := &env{tm: o.tm, smoke: o.smoke}
	if name == tcpFloor {
		return bc.run(ctx, e)
	}
	st, _ := stackByName(name)
	t, err := start(st, bc.tls)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	e.st, e.t = st, t
	if bc.tls {
		cert, err := testCert()
		if err != nil {
			return nil, err
		}
		e.clientTLS = cert.client
	}
	return bc.run(ctx, e)
}

// pairedRatios is, per metric, the median over rounds of ours[i]/theirs[i]:
// the two stacks' i-th rounds ran side by side, so the machine's drift
// (other work, the host stealing CPU) weighs on both sides of each ratio,
// where a ratio of the two medians can pair a quiet round with a stormy one.
func pairedRatios(ours, theirs map[string][]float64) map[string]float64 {
	out := map[string]float64{}
	for k, a := range ours {
		b := theirs[k]
		if len(b) != len(a) || len(a) == 0 {
			continue
		}
		q := make([]float64, 0, len(a))
		for i := range a {
			if b[i] != 0 {
				q = append(q, a[i]/b[i])
			}
		}
		if len(q) == len(a) {
			out[k] = median(q)
		}
	}
	return out
}

// median returns the middle value (the mean of the two middle ones for an
// even count); machines shared with other work make single rounds noisy.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
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

func fmtLog(m map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, " %s=%s", k, fmtFloat(m[k]))
	}
	return strings.TrimSpace(b.String())
}
