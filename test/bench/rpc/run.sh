#!/usr/bin/env bash
# Runs the rpc benchmarks, h2rpc against grpc-go, and prints the markdown table.
#
#   ./run.sh                 full run (1 s warm-up + 3 s per case and framework)
#   ./run.sh -quick          smoke run, rough numbers
#   ./run.sh -runs 3         medians of 3 runs (frameworks alternate), for noisy machines
#   ./run.sh -case unary     any rpcbench flag passes through (see -h)
#
# PROFILE_DIR=dir ./run.sh  also profiles h2rpc alone, CPU and allocations,
# writes the profiles into dir and prints the top entries of each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rpcbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/rpcbench" .
"$WORK/rpcbench" "$@"

if [[ -n "${PROFILE_DIR:-}" ]]; then
	mkdir -p "$PROFILE_DIR"
	echo
	echo "profiling h2rpc (unary, unary64) into $PROFILE_DIR"
	"$WORK/rpcbench" -framework h2rpc -case unary,unary64 -cpuprofile "$PROFILE_DIR/cpu.pprof" >/dev/null
	"$WORK/rpcbench" -framework h2rpc -case unary -measure 1s -memprofile "$PROFILE_DIR/mem.pprof" >/dev/null
	cp "$WORK/rpcbench" "$PROFILE_DIR/rpcbench"
	echo "## CPU (flat)"
	go tool pprof -top -nodecount=30 "$PROFILE_DIR/rpcbench" "$PROFILE_DIR/cpu.pprof" 2>/dev/null | tail -n +5
	echo "## allocations (objects, flat)"
	go tool pprof -top -nodecount=30 -sample_index=alloc_objects "$PROFILE_DIR/rpcbench" "$PROFILE_DIR/mem.pprof" 2>/dev/null | tail -n +5
fi
