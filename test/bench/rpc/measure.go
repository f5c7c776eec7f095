package main

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// timing is how long each case warms up and then measures.
type timing struct {
	warmup, measure time.Duration
}

// maxWindow bounds a measurement window that saw no operation finish in its
// planned time (a slow machine, the race detector): the window waits for
// the first one so that every figure is counted from at least one, but not
// forever.
const maxWindow = 60 * time.Second

// tally is what a window counted: operations per second over the
// measurement window and, per operation, the allocations and bytes
// allocated and the CPU time used by the whole process (client and server
// together).
type tally struct {
	rate, allocs, bytes, cpu float64
	ops                      int64
}

// metrics returns the tally under the standard metric keys.
func (t tally) metrics() map[string]float64 {
	return map[string]float64{kRate: t.rate, kAllocs: t.allocs, kBytes: t.bytes, kCPU: t.cpu}
}

// work performs operations until it returns; it calls done(k) as k more
// operations complete, so that long operations (a 10,000-message stream)
// are counted as they go. An error stops the case unless the window is
// already over (ctx is then done and the error is the cancellation's).
type work func(ctx context.Context, worker int, done func(k int)) error

// window runs n workers through the warm-up and the measurement and counts
// the operations completed in the measurement window. measuring, when not
// nil, is true during that window (a latency recorder keeps only those).
func window(ctx context.Context, tm timing, n int, measuring *atomic.Bool, w work) (tally, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ops atomic.Int64
	done := func(k int) { ops.Add(int64(k)) }
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := w(ctx, i, done); err != nil {
					if ctx.Err() == nil {
						errc <- err
						cancel()
					}
					return
				}
			}
		})
	}
	warmUp(ctx, tm.warmup, warmUpCap*tm.warmup, gcCycles)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	start, c0 := time.Now(), ops.Load()
	if measuring != nil {
		measuring.Store(true)
	}
	sleep(ctx, tm.measure)
	for ops.Load() == c0 && ctx.Err() == nil && time.Since(start) < maxWindow {
		sleep(ctx, time.Millisecond)
	}
	if measuring != nil {
		measuring.Store(false)
	}
	elapsed, c1 := time.Since(start), ops.Load()
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&after)
	cancel()
	wg.Wait()
	select {
	case err := <-errc:
		return tally{}, err
	default:
	}
	n1 := c1 - c0
	if n1 == 0 {
		return tally{}, errors.New("no operation completed in the measurement window")
	}
	return tally{
		rate:   float64(n1) / elapsed.Seconds(),
		allocs: float64(after.Mallocs-before.Mallocs) / float64(n1),
		bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(n1),
		cpu:    float64(cpu) / float64(n1) / float64(time.Microsecond),
		ops:    n1,
	}, nil
}

// warmUpGCs is how many garbage collections a warm-up waits for after its
// time: by then the heap has grown to the size the case keeps it at. A
// window that opens earlier measures the heap's growth (page faults on
// fresh memory, 8-12 µs each on this VM), which made rounds of 1 MiB
// messages take five times their CPU per call, whichever stack ran right
// after another had given its memory back to the OS (docs/benchmarks.md).
const warmUpGCs = 2

// warmUpCap bounds the wait for those collections, as a multiple of the
// warm-up time: a case that allocates little needs none of them.
const warmUpCap = 8

// warmUp waits d, then until gcs (a counter of completed collections) has
// advanced by warmUpGCs since the call, or limit in all.
func warmUp(ctx context.Context, d, limit time.Duration, gcs func() uint64) {
	start, g0 := time.Now(), gcs()
	sleep(ctx, d)
	for gcs()-g0 < warmUpGCs && time.Since(start) < limit && ctx.Err() == nil {
		sleep(ctx, 5*time.Millisecond)
	}
}

// gcCycles is the number of garbage collections completed so far.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// processCPU is the process's CPU time so far, user and system. Per
// operation it leaves out the time spent waiting for a CPU, so on a shared,
// loaded machine it compares two stacks where rates mostly measure the
// neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// latencyWindow runs op on one goroutine through a window and returns the
// tally with the p50 and p99 of the measured operations' latencies.
func latencyWindow(ctx context.Context, tm timing, op func(ctx context.Context) error) (map[string]float64, error) {
	var measuring atomic.Bool
	// Preallocated so that recording adds no allocation to the count.
	lat := make([]time.Duration, 0, 1<<20)
	t, err := window(ctx, tm, 1, &measuring, func(ctx context.Context, _ int, done func(int)) error {
		start := time.Now()
		if err := op(ctx); err != nil {
			return err
		}
		if measuring.Load() && len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
		done(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(lat) == 0 {
		return nil, errors.New("no latency recorded")
	}
	m := t.metrics()
	m[kP50] = float64(percentile(lat, 0.50))
	m[kP99] = float64(percentile(lat, 0.99))
	return m, nil
}

// percentile sorts d and returns the value at fraction q.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[int(q*float64(len(d)-1))]
}
