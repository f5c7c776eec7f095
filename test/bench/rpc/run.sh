#!/usr/bin/env bash
# Runs the rpc benchmark matrix, h2rpc against grpc-go and connect-go, and
# prints the markdown table (docs/benchmarks.md says what each case does).
#
#   ./run.sh                 full run (5 rounds × 0.5 s warm-up + 2 s per case and stack)
#   ./run.sh -quick          smoke run, one round of short windows, rough numbers
#   ./run.sh -runs 9         medians of 9 rounds, for noisy machines
#   ./run.sh -case unary,tls any rpcbench flag passes through (-h; -list lists the cases)
#
# PROFILE_DIR=dir ./run.sh  also profiles h2rpc alone (no peer, no proto
# floor beside it) on the shapes that miss their goals against grpc-go
# (unary 64 KiB and 1 MiB at c=8, bidi ping-pong 1 MiB), CPU and
# allocations, writes the profiles into dir and prints the top entries of each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rpcbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/rpcbench" .
"$WORK/rpcbench" "$@"

if [[ -n "${PROFILE_DIR:-}" ]]; then
	mkdir -p "$PROFILE_DIR"
	shapes=unary/64KiB-c8,unary/1MiB-c8,bidi/pingpong-1MiB
	echo
	echo "profiling h2rpc ($shapes) into $PROFILE_DIR"
	"$WORK/rpcbench" -framework h2rpc -beside=false -runs 1 -case "$shapes" -cpuprofile "$PROFILE_DIR/cpu.pprof" >/dev/null
	"$WORK/rpcbench" -framework h2rpc -beside=false -runs 1 -case "$shapes" -measure 1s -memprofile "$PROFILE_DIR/mem.pprof" >/dev/null
	cp "$WORK/rpcbench" "$PROFILE_DIR/rpcbench"
	echo "## CPU (flat)"
	go tool pprof -top -nodecount=30 "$PROFILE_DIR/rpcbench" "$PROFILE_DIR/cpu.pprof" 2>/dev/null | tail -n +5
	echo "## allocations (objects, flat)"
	go tool pprof -top -nodecount=30 -sample_index=alloc_objects "$PROFILE_DIR/rpcbench" "$PROFILE_DIR/mem.pprof" 2>/dev/null | tail -n +5
fi
