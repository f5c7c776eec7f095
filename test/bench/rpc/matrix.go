package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// Metric keys a case returns.
const (
	kRate   = "rate"   // operations per second (calls, messages, round trips)
	kP50    = "p50"    // latency, ns
	kP99    = "p99"    // latency, ns
	kAllocs = "allocs" // allocations per operation, client and server together
	kBytes  = "bytes"  // bytes allocated per operation, client and server together
	kCPU    = "cpu-us" // process CPU time (user and system) per operation, µs, client and server together
	kMem    = "mem"    // live bytes (Go heap in use and goroutine stacks) per idle item
	kRSS    = "rss"    // resident-set bytes per idle item
	// kFloorRate is the rate of a case's rate floor (rateFloorFor), and
	// kFloorP50 the p50 of its latency floor (floorFor), each measured
	// right beside the case's round (runFloorBeside).
	kFloorRate = "floor-rate"
	kFloorP50  = "floor-p50"
)

// kind says how a row is judged against its goals.
type kind int

const (
	throughput kind = iota // higher is better: >= 1.5x grpc-go, >= 3x connect-go
	latency                // lower is better: <= 0.6x grpc-go
	memory                 // lower is better: <= 1x grpc-go
	info                   // no goal
)

// row is one line of the table: a metric of a case.
type row struct {
	key, label string
	kind       kind
}

var (
	rateRow = func(label string) []row { return []row{{kRate, label, throughput}} }
	latRows = []row{{kP50, "p50 latency", latency}, {kP99, "p99 latency", latency}}
	// memRows are a memory case's two rows, per item ("connection",
	// "stream"): what the Go runtime holds live and what stays resident.
	memRows = func(item string) []row {
		return []row{{kMem, "heap+stacks per " + item, memory}, {kRSS, "RSS per " + item, memory}}
	}
	// floorRate is a proto floor's one row: a figure, no goal.
	floorRate = func(label string) []row { return []row{{kRate, label, info}} }
)

type caseFunc func(ctx context.Context, e *env) (map[string]float64, error)

// benchCase is one shape of the matrix.
type benchCase struct {
	name   string   // what -case selects (by prefix)
	what   string   // what the table calls it
	tls    bool     // the stacks serve and dial over TLS
	floor  bool     // runs on bare TCP only, not on the stacks
	legacy bool     // runs only when -case selects it
	only   []string // the stacks it runs on; empty: all
	conns  int      // idle connections it holds open at once, a descriptor each (reserveFiles)
	rows   []row
	run    caseFunc
}

// env is what a case runs against.
type env struct {
	st        stack
	t         *target // nil for the floor
	clientTLS *tls.Config
	tm        timing
	smoke     bool // shrink counts so that every case runs in a blink
}

// Smoke-mode caps: enough to go through every code path (several messages
// per stream, several concurrent calls), small enough for -race in CI.
const (
	smokeMsgs = 5
	smokeConc = 4
	smokeIdle = 20
)

// scale is n, or at most smokeCap in smoke mode.
func (e *env) scale(n, smokeCap int) int {
	if e.smoke {
		return min(n, smokeCap)
	}
	return n
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

func sizeName(n int) string {
	switch {
	case n >= mib:
		return fmt.Sprintf("%dMiB", n/mib)
	case n >= kib:
		return fmt.Sprintf("%dKiB", n/kib)
	default:
		return fmt.Sprintf("%dB", n)
	}
}

// humanSize is sizeName with a space before the unit, for the table.
func humanSize(n int) string {
	s := sizeName(n)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	return s[:i] + " " + s[i:]
}

// streamsOf says "1 stream" or "8 streams" (concurrent).
func streamsOf(n int) string {
	if n == 1 {
		return "1 stream"
	}
	return fmt.Sprintf("%d streams", n)
}

// countOf writes a message count with a thousands separator.
func countOf(n int) string {
	if n >= 1000 {
		return fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	return fmt.Sprint(n)
}

// floorFor names the floor case whose p50 a unary latency case is divided
// by in the table (the same bytes each way); every round of the case also
// runs that floor right after the stacks, since on this VM the c=1 figures
// move by 6-13 µs between runs minutes apart, more than the goal's margin.
var floorFor = map[string]string{"unary/1B-c1": "floor/tcp-1B"}

// rateFloorFor names the floor whose rate each case is read against in the
// table: for the large messages their proto floor (the same
// application-level work on bare TCP), for the 1 KiB ping-pong the bare TCP
// echo of the same bytes; every round of the case also runs that floor
// right after the stacks.
// A one-way stream's work is the same whichever side sends, so server and
// client streaming share their floors; the 8- and 64-stream shapes on one
// connection are read against 8 senders on 8 connections, the machine's
// capacity for that work with both cores busy.
var rateFloorFor = map[string]string{
	"unary/64KiB-c8":              "floor/proto-unary-64KiB-c8",
	"unary/1MiB-c8":               "floor/proto-unary-1MiB-c8",
	"server-stream/1x100x64KiB":   "floor/proto-stream-1x64KiB",
	"server-stream/8x100x64KiB":   "floor/proto-stream-8x64KiB",
	"server-stream/64x100x64KiB":  "floor/proto-stream-8x64KiB",
	"server-stream/1x10000x64KiB": "floor/proto-stream-1x64KiB",
	"client-stream/1x100x64KiB":   "floor/proto-stream-1x64KiB",
	"client-stream/8x100x64KiB":   "floor/proto-stream-8x64KiB",
	"client-stream/64x100x64KiB":  "floor/proto-stream-8x64KiB",
	"client-stream/1x10000x64KiB": "floor/proto-stream-1x64KiB",
	"bidi/pingpong-1MiB":          "floor/proto-pingpong-1MiB",
	"bidi/pingpong-1KiB":          "floor/tcp-1KiB",
}

// floorBeside is the floor that runs beside case c in every round, the
// floor's figure that c is read against (kP50 for a latency floor, kRate
// for a rate floor) and the key c keeps that figure under on tcpFloor.
func floorBeside(c string) (floor, figure, key string, ok bool) {
	if f, ok := floorFor[c]; ok {
		return f, kP50, kFloorP50, true
	}
	if f, ok := rateFloorFor[c]; ok {
		return f, kRate, kFloorRate, true
	}
	return "", "", "", false
}

// floorNoun is what the table calls the floor named f: the bare TCP echoes
// carry raw bytes, the proto floors framed protobuf messages.
func floorNoun(f string) string {
	if strings.HasPrefix(f, "floor/tcp-") {
		return "TCP floor"
	}
	return "proto floor"
}

// memoryStacks are the stacks of the memory cases: the issue compares
// h2rpc with grpc-go there, and connect-go on net/http holds about half a
// MiB per open stream, 5 GiB for the 10,000-stream case.
var memoryStacks = []string{ours, grpcGo}

// idleConnsCase is the memory case of n idle connections.
func idleConnsCase(name string, n int) benchCase {
	return benchCase{name: name, what: countOf(n) + " idle connections", rows: memRows("connection"), run: idleConns(n), only: memoryStacks, conns: n}
}

// runsOn reports whether c runs on the named stack.
func (c benchCase) runsOn(name string) bool {
	if c.floor {
		return name == tcpFloor
	}
	return name != tcpFloor && (len(c.only) == 0 || slices.Contains(c.only, name))
}

// matrix is the benchmark matrix of issue 13, in table order.
var matrix = buildMatrix()

func buildMatrix() []benchCase {
	cs := []benchCase{
		{name: "floor/tcp-1B", what: "floor: bare TCP ping-pong 1 B", floor: true, rows: []row{{kP50, "p50 latency", info}, {kP99, "p99 latency", info}, {kRate, "round trips/s", info}}, run: tcpPingPong(1)},
		{name: "floor/tcp-1KiB", what: "floor: bare TCP ping-pong 1 KiB", floor: true, rows: []row{{kP50, "p50 latency", info}, {kP99, "p99 latency", info}, {kRate, "round trips/s", info}}, run: tcpPingPong(kib)},
		{name: "floor/proto-unary-64KiB-c8", what: "floor: proto unary-shaped 64 KiB each way, 8 callers on 8 TCP connections", floor: true, rows: floorRate("calls/s"), run: protoUnary(64*kib, 8)},
		{name: "floor/proto-unary-1MiB-c8", what: "floor: proto unary-shaped 1 MiB each way, 8 callers on 8 TCP connections", floor: true, rows: floorRate("calls/s"), run: protoUnary(mib, 8)},
		{name: "floor/proto-stream-1x64KiB", what: "floor: proto one-way stream 64 KiB, 1 TCP connection", floor: true, rows: floorRate("msgs/s"), run: protoStream(64*kib, 1)},
		{name: "floor/proto-stream-8x64KiB", what: "floor: proto one-way streams 64 KiB, 8 TCP connections", floor: true, rows: floorRate("msgs/s"), run: protoStream(64*kib, 8)},
		{name: "floor/proto-pingpong-1MiB", what: "floor: proto ping-pong 1 MiB, 1 TCP connection", floor: true, rows: floorRate("round trips/s"), run: protoPingPong(mib)},
		{name: "unary/1B-c1", what: "unary 1 B, c=1", rows: append(latRows[:2:2], row{kRate, "calls/s", info}), run: unaryLatency(1)},
		{name: "unary/1B-c64", what: "unary 1 B, c=64, 1 connection", rows: rateRow("calls/s"), run: unaryConcurrent(1, 64)},
		{name: "tls/unary-1B-c64", what: "TLS: unary 1 B, c=64, 1 connection", tls: true, rows: rateRow("calls/s"), run: unaryConcurrent(1, 64)},
		{name: "unary/1B-c512", what: "unary 1 B, c=512, 1 connection", rows: rateRow("calls/s"), run: unaryConcurrent(1, 512)},
	}
	for _, size := range []int{kib, 64 * kib, mib} {
		cs = append(cs, benchCase{
			name: "unary/" + sizeName(size) + "-c8", what: fmt.Sprintf("unary %s each way, c=8", humanSize(size)),
			rows: rateRow("calls/s"), run: unaryConcurrent(size, 8),
		})
	}
	type streamShape struct{ conc, count int }
	shapes := []streamShape{{1, 100}, {8, 100}, {64, 100}, {1, 10000}}
	for _, dir := range []struct {
		name, what string
		run        func(conc, count, size int) caseFunc
	}{{"server-stream", "server streaming", serverStreams}, {"client-stream", "client streaming", clientStreams}} {
		for _, sh := range shapes {
			for _, size := range []int{64, kib, 64 * kib} {
				shape := fmt.Sprintf("%dx%dx%s", sh.conc, sh.count, sizeName(size))
				cs = append(cs, benchCase{
					name: dir.name + "/" + shape, what: fmt.Sprintf("%s, %s × %s × %s", dir.what, streamsOf(sh.conc), countOf(sh.count), humanSize(size)),
					rows: rateRow("msgs/s"), run: dir.run(sh.conc, sh.count, size),
				})
				if dir.name == "server-stream" && sh == (streamShape{8, 100}) && size == kib {
					cs = append(cs, benchCase{
						name: "tls/server-stream-" + shape, what: fmt.Sprintf("TLS: server streaming, 8 streams × 100 × %s", humanSize(size)), tls: true,
						rows: rateRow("msgs/s"), run: serverStreams(sh.conc, sh.count, size),
					})
				}
			}
		}
	}
	cs = append(cs,
		benchCase{name: "bidi/pingpong-1KiB", what: "bidi ping-pong 1 KiB, 100 round trips per stream", rows: rateRow("round trips/s"), run: pingPong(kib, 100)},
		benchCase{name: "bidi/pingpong-1MiB", what: "bidi ping-pong 1 MiB, 10 round trips per stream", rows: rateRow("round trips/s"), run: pingPong(mib, 10)},
		benchCase{name: "bidi/duplex-1KiB", what: "bidi full duplex 1 KiB, 1,000 each way per stream", rows: rateRow("msgs/s each way"), run: fullDuplex(kib, 1000)},
		idleConnsCase("memory/idle-conns", 1000),
		idleConnsCase("memory/idle-10k-conns", 10000),
		benchCase{name: "memory/idle-streams", what: "10,000 idle streams on 1 connection", rows: memRows("stream"), run: idleStreams(10000), only: memoryStacks},
		benchCase{name: "legacy/stream-endless", what: "legacy: 1 endless server stream 1 KiB, reused response", legacy: true, rows: rateRow("msgs/s"), run: legacyStream},
		benchCase{name: "legacy/pingpong-endless", what: "legacy: 1 endless bidi ping-pong 1 MiB", legacy: true, rows: []row{{kRate, "MiB/s (both ways)", throughput}}, run: legacyPingPong},
		benchCase{name: "legacy/idle-busy", what: "legacy: 1,000 idle + 10 busy streams", legacy: true, rows: []row{{kP99, "busy-stream p99 latency", latency}}, run: legacyIdleBusy},
	)
	return cs
}
