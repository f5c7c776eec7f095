//go:build chaos

package chaos

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/freeport"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/h2rpc/h2rpc/test/chaos/internal/procstat"
	"github.com/stretchr/testify/require"
)

var (
	full        = flag.Bool("full", false, "run the full variant of every scenario (minutes each) instead of the short one")
	resultsFile = flag.String("results", "", "also write the result table (Markdown) to this file")
)

// binDir holds the servers built for this run.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if os.Geteuid() != 0 {
			fmt.Fprintln(os.Stderr, "chaos: the suite needs root (network namespaces); run it with test/chaos/run.sh as root")
			return 1
		}
		if _, err := exec.LookPath("ip"); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: the suite needs ip (iproute2)")
			return 1
		}
		if _, err := procstat.RaiseFileLimit(); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
		dir, err := os.MkdirTemp("", "h2rpc-chaos-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/...")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: building the servers:", err)
			return 1
		}
		defer removeNetns()
		code := m.Run()
		printResults()
		return code
	}()
	os.Exit(code)
}

// variant is "short" or "full", as the flag chose.
func variant() string {
	if *full {
		return "full"
	}
	return "short"
}

// pick returns the short or the full value.
func pick[T any](short, long T) T {
	if *full {
		return long
	}
	return short
}

// ---- results ----

type result struct {
	scenario, outcome, figures string
}

var (
	resultsMu sync.Mutex
	results   []result
)

// report records the scenario's figures; its PASS or FAIL is read when the
// test ends, so that a failed assertion after report still shows.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	figures := fmt.Sprintf(format, args...)
	t.Log(figures)
	name := t.Name()
	t.Cleanup(func() {
		outcome := "PASS"
		if t.Failed() {
			outcome = "FAIL"
		}
		resultsMu.Lock()
		results = append(results, result{name, outcome, figures})
		resultsMu.Unlock()
	})
}

func printResults() {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario (%s) | result | figures |\n|---|---|---|\n", variant())
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.scenario, r.outcome, strings.ReplaceAll(r.figures, "\n", "<br>"))
	}
	fmt.Println()
	fmt.Println("chaos results:")
	fmt.Print(b.String())
	if *resultsFile != "" {
		if err := os.WriteFile(*resultsFile, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: writing results:", err)
		}
	}
}

// ---- server processes ----

// server is one server process.
type server struct {
	cmd       *exec.Cmd
	rpcAddr   string
	statsAddr string
	exited    chan struct{}
}

// startServer runs binary name (from cmd/) with args, inside network
// namespace ns when ns is not empty, and waits for its ready line.
func startServer(t *testing.T, ns, name string, args ...string) *server {
	t.Helper()
	bin := filepath.Join(binDir, name)
	var cmd *exec.Cmd
	if ns != "" {
		// ip netns exec execs the server, so the pid is the server's own.
		cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Stderr = os.Stderr
	// A suite that dies (a timeout's panic skips every cleanup) takes its
	// servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				ready <- sc.Text()
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case line := <-ready:
		for _, f := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "rpc":
				s.rpcAddr = v
			case "stats":
				s.statsAddr = v
			}
		}
	case <-s.exited:
		t.Fatalf("%s exited before it was ready", name)
	case <-time.After(15 * time.Second):
		t.Fatalf("%s not ready after 15 s", name)
	}
	return s
}

// kill sends SIGKILL and waits for the process to end.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM (graceful Shutdown) and waits for the process to end.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("server still running 30 s after SIGTERM")
	}
}

// stats fetches the server's process statistics.
func (s *server) stats(t *testing.T, gc bool) procstat.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := procstat.Fetch(ctx, s.statsAddr, gc)
	require.NoError(t, err)
	return st
}

// freePort returns a loopback port that was free a moment ago and that the
// kernel never hands out itself (the kill scenarios restart their server on
// the same port: one from port 0 could meanwhile go to anyone's listener).
func freePort(t *testing.T) int {
	t.Helper()
	port, err := freeport.BelowEphemeral("127.0.0.1")
	require.NoError(t, err)
	return port
}

// ---- clients ----

// fastBackoff reconnects within a second, so that the scenarios measure the
// failure, not the spec's default backoff of up to two minutes.
var fastBackoff = rpc.WithConnectParams(rpc.ConnectParams{
	Backoff:           rpc.BackoffConfig{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
	MinConnectTimeout: 2 * time.Second,
})

func newClient(t *testing.T, addr string, opts ...rpc.DialOption) *rpc.ClientConn {
	t.Helper()
	cc, err := rpc.NewClient(addr, append([]rpc.DialOption{rpc.WithInsecure(), fastBackoff}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

// ---- code accounting ----

// tally counts the codes calls ended with, per kind of call.
type tally struct {
	mu     sync.Mutex
	counts map[string]map[codes.Code]int
	errs   map[string]string // one example message per kind and code
}

func newTally() *tally {
	return &tally{counts: map[string]map[codes.Code]int{}, errs: map[string]string{}}
}

func (t *tally) add(kind string, err error) codes.Code {
	c := status.Code(err)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts[kind] == nil {
		t.counts[kind] = map[codes.Code]int{}
	}
	t.counts[kind][c]++
	key := kind + " " + c.String()
	if err != nil && t.errs[key] == "" {
		t.errs[key] = err.Error()
	}
	return c
}

// failed is the number of calls that did not end OK, and whether every one
// of them ended with one of allowed.
func (t *tally) failed(allowed ...codes.Code) (n int, onlyAllowed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	onlyAllowed = true
	for _, m := range t.counts {
		for c, k := range m {
			if c == codes.OK {
				continue
			}
			n += k
			ok := false
			for _, a := range allowed {
				ok = ok || a == c
			}
			onlyAllowed = onlyAllowed && ok
		}
	}
	return n, onlyAllowed
}

// String is "unary: OK=10 UNAVAILABLE=1; stream: OK=5" with kinds and codes sorted.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kinds []string
	for k := range t.counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		var cs []string
		for c, n := range t.counts[k] {
			cs = append(cs, fmt.Sprintf("%s=%d", c, n))
		}
		sort.Strings(cs)
		parts = append(parts, k+": "+strings.Join(cs, " "))
	}
	return strings.Join(parts, "; ")
}

// examples lists one error message per kind and failing code.
func (t *tally) examples() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for k, v := range t.errs {
		lines = append(lines, k+": "+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// ---- latency ----

// latencies collects call durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile (0..1) of the durations so far.
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
