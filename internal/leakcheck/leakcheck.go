package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the package's tests, then fails the run if goroutines started
// by them are still alive a few seconds after the last test: servers,
// connections and streams must all end. Use it from TestMain.
func Main(m *testing.M) {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if stacks, ok := settle(base, 5*time.Second); !ok {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines left after the tests (%d at start):\n%s\n", base, stacks)
			code = 1
		}
	}
	os.Exit(code)
}

// settle waits for the goroutine count to come back to base.
func settle(base int, wait time.Duration) (string, bool) {
	deadline := time.Now().Add(wait)
	for {
		if runtime.NumGoroutine() <= base {
			return "", true
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return strings.TrimSpace(string(buf)), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
