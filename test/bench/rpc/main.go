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
	"time"
)

func main() {
	runPeerIfAsked()
	quick := flag.Bool("quick", false, "short warm-up and measurement (a smoke run, numbers are rough)")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "warm-up time of each case")
	measure := flag.Duration("measure", 2*time.Second, "measurement time of each case")
	fws := flag.String("framework", "", "comma-separated stacks to run (h2rpc, grpc-go, connect-go); default all")
	cases := flag.String("case", "", "comma-separated case name prefixes to run (unary, server-stream/8x, tls, floor, memory, legacy, ...); default every case but the legacy ones")
	runs := flag.Int("runs", 5, "rounds of each case, stacks alternating; the table shows medians, and ratios as the median of each round's h2rpc/peer ratio")
	list := flag.Bool("list", false, "list the cases and exit")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile (every allocation sampled) to this file")
	mutexProfile := flag.String("mutexprofile", "", "write a mutex contention profile (every event sampled) to this file")
	traceFile := flag.String("trace", "", "write an execution trace of the whole run to this file (go tool trace)")
	beside := flag.Bool("beside", true, "run the floor of each case read against one beside it in every round (the large messages' proto floors, unary 1 B c=1's and ping-pong 1 KiB's TCP floors); false for profiles and traces of the stacks alone")
	flag.Parse()

	if *list {
		for _, c := range matrix {
			fmt.Printf("%-34s %s\n", c.name, c.what)
		}
		return
	}
	o := options{tm: timing{*warmup, *measure}, runs: *runs, stacks: splitList(*fws), cases: splitList(*cases), noBeside: !*beside}
	if *quick {
		o.tm = timing{50 * time.Millisecond, 200 * time.Millisecond}
		o.runs = 1
		if isSet("runs") {
			o.runs = *runs
		}
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
		fmt.Printf("\nrpc benchmarks, %v warm-up + %v measured per case, median of %d round(s) (ratios: median of the per-round ratios), GOMAXPROCS=%d, %s\n",
			o.tm.warmup, o.tm.measure, max(o.runs, 1), runtime.GOMAXPROCS(0), runtime.Version())
		if after, ok := readCPUTimes(); ok && haveStat {
			fmt.Printf("CPU time stolen by the host during the run: %.0f%%\n", stealPercent(before, after))
		}
		fmt.Println()
		writeTable(os.Stdout, r)
	}
	if *memProfile != "" {
		writeProfile("allocs", *memProfile)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
}

func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
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
