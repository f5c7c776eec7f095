// Package procstat lets the chaos suite's server processes report what the
// suite asserts on (Go heap, goroutines, RSS, open files) over a small HTTP
// endpoint, and lets the suite fetch it.
package procstat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sample is one reading of a process.
type Sample struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"` // live heap bytes (after GC when asked)
	HeapInuse  uint64 `json:"heap_inuse"`
	RSS        uint64 `json:"rss"` // resident set, bytes
	OpenFiles  int    `json:"open_files"`
}

// Take reads this process; with gc it collects garbage first so that
// HeapAlloc is the live heap.
func Take(gc bool) Sample {
	if gc {
		runtime.GC()
		runtime.GC() // the second cycle frees what the first one's finalizers released
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Sample{
		Goroutines: runtime.NumGoroutine(),
		HeapAlloc:  ms.HeapAlloc,
		HeapInuse:  ms.HeapInuse,
		RSS:        rss(),
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.OpenFiles = len(fds)
	}
	return s
}

// rss is VmRSS from /proc/self/status, in bytes (0 where unavailable).
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// Serve answers GET /stats[?gc=1] on l until l is closed.
func Serve(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Take(r.URL.Query().Get("gc") == "1"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
}

// Fetch asks the endpoint at addr for a sample.
func Fetch(ctx context.Context, addr string, gc bool) (Sample, error) {
	url := "http://" + addr + "/stats"
	if gc {
		url += "?gc=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Sample{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	var s Sample
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return Sample{}, fmt.Errorf("procstat: decoding %s: %w", url, err)
	}
	return s, nil
}

// RaiseFileLimit lifts this process's open-file limit to its hard limit
// (the Go runtime does so too on Linux; saying it here keeps the suite's
// needs visible) and returns the limit in force.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("procstat: getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("procstat: setrlimit: %w", err)
	}
	return lim.Cur, nil
}

// Listen is a suite server's start-up: it raises the file limit (the
// crowds open thousands of connections), listens on the service and the
// statistics addresses, and serves the statistics.
func Listen(service, stats string) (net.Listener, net.Listener, error) {
	if _, err := RaiseFileLimit(); err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("tcp", service)
	if err != nil {
		return nil, nil, err
	}
	sl, err := net.Listen("tcp", stats)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	Serve(sl)
	return l, sl, nil
}
