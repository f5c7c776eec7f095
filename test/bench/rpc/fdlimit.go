package main

import (
	"fmt"
	"os"
	"syscall"
)

// fileMargin is room for the descriptors a case opens beside its
// connections (listeners, the poller, files the runtime or a stack opens).
const fileMargin = 64

// reserveFiles makes room, before any case runs, for the most idle
// connections a selected case holds at once: one descriptor each for the
// client ends in this process (the server ends are in a peer process,
// startPeer, which starts with the same limit). A process out of descriptors
// does not fail fast: the server's accept loop backs off and retries while
// the client waits for an answer to its call, so the run would hang an
// hour into the matrix instead of stopping at its start.
func reserveFiles(o options) error {
	n := idleConnsAtOnce(o)
	if n == 0 {
		return nil
	}
	return ensureFiles(n, fmt.Sprintf("%s idle connections", countOf(n)))
}

// idleConnsAtOnce is the most idle connections a case selected by o holds
// open at once, as many as it runs in smoke mode.
func idleConnsAtOnce(o options) int {
	most := 0
	for _, c := range matrix {
		if o.selected(c) {
			most = max(most, (&env{smoke: o.smoke}).scale(c.conns, smokeIdle))
		}
	}
	return most
}

// ensureFiles raises the process's open-file limit, if needed, to make
// room for extra descriptors beyond those open now; why names what needs
// them, for the error. Go already lifts the soft limit to the hard one at
// start; lifting the hard one takes privilege (CAP_SYS_RESOURCE), and
// without it the error says how far short the limit is.
func ensureFiles(extra int, why string) error {
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("counting open files: %w", err)
	}
	need := uint64(len(open) + extra + fileMargin)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	raised := raisedTo(lim, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		return fmt.Errorf("%s need %d open files in this process, one per client end (%d open now), over the limit of %d (hard %d), which this process cannot raise (%w): raise it first (ulimit -n %d, as root for a hard limit)",
			why, need, len(open), lim.Cur, lim.Max, err, need)
	}
	return nil
}

// raisedTo is lim with room for need open files: the soft limit at need,
// the hard one at least as high.
func raisedTo(lim syscall.Rlimit, need uint64) syscall.Rlimit {
	return syscall.Rlimit{Cur: need, Max: max(lim.Max, need)}
}
