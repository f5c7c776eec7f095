package rpc

import (
	"fmt"
	"time"
)

// How Serve's HTTP/1.1 judges a write that outlasts WriteTimeout, where the
// client's acknowledged bytes can be counted (http1_timed_linux.go). The
// client's pace matters only once the socket's send buffer is full: the
// write then waits for the client, and writeStall follows it from there.
// At each deadline the write may go on while the client keeps taking bytes
// (some since the previous deadline, a whole WriteTimeout before) and its
// average since the buffer filled stays at least HTTP1Parameters.MinWriteRate.
// Without the floor a client that reads a byte every few seconds would hold
// its connection, and the call's goroutine, for as long as it liked.

// defaultHTTP1MinWriteRate is HTTP1Parameters.MinWriteRate's default, in
// bytes per second: far below any real client's pace (a phone on a poor
// link reads tens of KiB/s), far above a slow-read attacker's.
const defaultHTTP1MinWriteRate = 1 << 10

// writeStall follows one timed write from the moment it found the socket's
// send buffer full.
type writeStall struct {
	since     time.Time // when the write found the buffer full
	lastTaken int64     // bytes the client had taken at the previous check
}

// check judges the write at a deadline, at now: taken is the bytes the
// client acknowledged since s.since. It returns the next deadline, or an
// error wrapping cause (the deadline's error) when the write must end.
// minRate <= 0 keeps only the rule that the client takes some bytes in
// every WriteTimeout.
func (s *writeStall) check(now time.Time, taken int64, wt time.Duration, minRate int64, cause error) (time.Time, error) {
	elapsed := now.Sub(s.since)
	if elapsed < wt {
		// The buffer filled shortly before the deadline: the client gets
		// a whole WriteTimeout from then before it is judged.
		return s.since.Add(wt), nil
	}
	if taken <= s.lastTaken {
		return time.Time{}, fmt.Errorf("rpc: the HTTP/1.1 client took no bytes for WriteTimeout (%v): %w", wt, cause)
	}
	if minRate > 0 && taken*int64(time.Second) < minRate*int64(elapsed) {
		return time.Time{}, fmt.Errorf("rpc: the HTTP/1.1 client took %d bytes in %v, under MinWriteRate (%d bytes/s): %w",
			taken, elapsed.Round(time.Millisecond), minRate, cause)
	}
	s.lastTaken = taken
	return now.Add(wt), nil
}
