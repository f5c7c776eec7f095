package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"time"
)

type options struct {
	tm         timing
	runs       int // repetitions; each metric reports the median
	frameworks []string
	cases      []string
}

func main() {
	quick := flag.Bool("quick", false, "short warm-up and measurement (a smoke run, numbers are rough)")
	warmup := flag.Duration("warmup", time.Second, "warm-up time of each case")
	measure := flag.Duration("measure", 3*time.Second, "measurement time of each case")
	fws := flag.String("framework", "", "comma-separated frameworks to run (h2rpc, grpc-go); default both")
	cases := flag.String("case", "", "comma-separated cases to run (unary, unary64, stream, pingpong, idle); default all")
	runs := flag.Int("runs", 1, "run each case this many times (frameworks alternating) and report the medians (ratios: the median of each run pair's ratio)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile (every allocation sampled) to this file")
	mutexProfile := flag.String("mutexprofile", "", "write a mutex contention profile (every event sampled) to this file")
	traceFile := flag.String("trace", "", "write an execution trace of the whole run to this file (go tool trace)")
	flag.Parse()

	o := options{tm: timing{*warmup, *measure}, runs: *runs, frameworks: splitList(*fws), cases: splitList(*cases)}
	if *quick {
		o.tm = timing{100 * time.Millisecond, 300 * time.Millisecond}
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
	}
	if *cpuProfile != "" {
		startToFile(*cpuProfile, pprof.StartCPUProfile)
		defer pprof.StopCPUProfile()
	}
	if *mutexProfile != "" {
		runtime.SetMutexProfileFraction(1)
		defer writeProfile("mutex", *mutexProfile)
	}
	if *traceFile != "" {
		startToFile(*traceFile, trace.Start)
		defer trace.Stop()
	}
	before, haveStat := readCPUTimes()
	r, err := run(context.Background(), o, os.Stderr)
	if err == nil {
		fmt.Printf("\nrpc benchmarks, %v warm-up + %v measured per case, median of %d run(s) (ratios: of the paired runs' ratios), GOMAXPROCS=%d, %s\n",
			o.tm.warmup, o.tm.measure, max(o.runs, 1), runtime.GOMAXPROCS(0), runtime.Version())
		if after, ok := readCPUTimes(); ok && haveStat {
			fmt.Printf("CPU time stolen by the host during the run: %.0f%%\n", stealPercent(before, after))
		}
		fmt.Println()
		writeTable(os.Stdout, r, "h2rpc", "grpc-go")
	}
	if *memProfile != "" {
		writeProfile("allocs", *memProfile)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
}

// startToFile creates path and starts a recorder (CPU profile, execution
// trace) writing to it; the file stays open until the process exits.
func startToFile(path string, start func(io.Writer) error) {
	f, err := os.Create(path)
	if err != nil {
		fatal(err)
	}
	if err := start(f); err != nil {
		fatal(err)
	}
}

// writeProfile writes the named runtime profile (pprof.Lookup) to path.
func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err != nil {
		fatal(err)
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		fatal(err)
	}
	_ = f.Close()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "rpcbench:", err)
	os.Exit(1)
}

// run runs the selected cases on the selected frameworks, each case on a
// fresh client and server so that cases do not disturb each other.
func run(ctx context.Context, o options, log io.Writer) (results, error) {
	for _, f := range o.frameworks {
		if !slices.ContainsFunc(frameworks[:], func(x struct {
			name  string
			start func() (target, error)
		}) bool {
			return x.name == f
		}) {
			return nil, fmt.Errorf("unknown framework %q (h2rpc, grpc-go)", f)
		}
	}
	for _, c := range o.cases {
		if !slices.ContainsFunc(benchCases, func(b benchCase) bool { return b.name == c }) {
			return nil, fmt.Errorf("unknown case %q (unary, unary64, stream, pingpong, idle)", c)
		}
	}
	all := map[string]map[string][]float64{}
	for _, bc := range benchCases {
		if len(o.cases) > 0 && !slices.Contains(o.cases, bc.name) {
			continue
		}
		for rep := range max(o.runs, 1) {
			for _, fw := range frameworks {
				if len(o.frameworks) > 0 && !slices.Contains(o.frameworks, fw.name) {
					continue
				}
				t, err := fw.start()
				if err != nil {
					return nil, fmt.Errorf("%s: start: %w", fw.name, err)
				}
				m, err := bc.run(ctx, t, o.tm)
				t.Close()
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", fw.name, bc.name, err)
				}
				if all[fw.name] == nil {
					all[fw.name] = map[string][]float64{}
				}
				for k, v := range m {
					all[fw.name][k] = append(all[fw.name][k], v)
				}
				fmt.Fprintf(log, "done: %-8s %-8s run %d %v\n", fw.name, bc.name, rep+1, m)
			}
		}
	}
	r := results{}
	for fw, ms := range all {
		r[fw] = map[string]float64{}
		for k, vs := range ms {
			r[fw][k] = median(vs)
		}
	}
	if q := pairedRatios(all["h2rpc"], all["grpc-go"]); len(q) > 0 {
		r[pairKey("h2rpc", "grpc-go")] = q
	}
	return r, nil
}

// pairKey names the results entry that holds ours/theirs ratios.
func pairKey(ours, theirs string) string { return ours + "/" + theirs }

// pairedRatios is, per metric, the median over runs of ours[i]/theirs[i]:
// the two frameworks' i-th runs ran back to back, so the machine's drift
// (other work, the host stealing CPU) weighs on both sides of each ratio,
// where a ratio of the two medians can pair a quiet run with a stormy one.
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
// even count); machines shared with other work make single runs noisy.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
