package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// statmPath is where Linux reports the process's memory in pages: size,
// resident, shared, ... (proc(5)).
const statmPath = "/proc/self/statm"

// residentBytes is the process's resident set size: its pages in RAM
// (resident pages of /proc/self/statm times the page size). It counts what
// the process touched and still maps: the Go heap's in-use pages whole
// (partly used ones too), goroutine stacks, the runtime's own metadata,
// binary text and data, and free heap the runtime has not yet returned to
// the OS. It leaves out what the kernel holds for the process: socket
// buffers, socket and file structures, page tables.
func residentBytes() (uint64, error) {
	b, err := os.ReadFile(statmPath)
	if err != nil {
		return 0, fmt.Errorf("resident set: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0, fmt.Errorf("resident set: %s has %q", statmPath, b)
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resident set: %s: %w", statmPath, err)
	}
	return pages * uint64(os.Getpagesize()), nil
}

// releasedRSS is residentBytes once the runtime has collected and given
// every free page back to the OS (debug.FreeOSMemory): without that, the
// "before" of a case still holds the heap the case before it freed, the
// "after" reuses it, and the growth between them is hidden.
func releasedRSS() (uint64, error) {
	debug.FreeOSMemory()
	return residentBytes()
}
