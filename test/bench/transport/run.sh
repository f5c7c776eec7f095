#!/usr/bin/env bash
# run.sh: the Transport benchmark. h2.Transport (our http.RoundTripper) and
# net/http's own HTTP/2 transport (http.Transport speaking unencrypted HTTP/2
# only) fetch the same bodies from one server in one run, taking turns:
#
#   body 1 KiB and 1 MiB, at concurrency 1 and 64 (goroutines sharing one
#   client), each client for DURATION per round, ROUNDS rounds per shape
#
#   ./run.sh                        3 rounds of 1s per client and shape
#   ROUNDS=5 DURATION=2s ./run.sh   longer
#
# The server is our engine over h2c (main.go -serve) in its own process, so
# the clients' CPU time is their own; it serves both clients alike. Prints a
# markdown table (req/s of each, the median of the per-round ratios, the
# client's allocations per request) and the goal line (ours >= 2x at every
# shape). Exits 2 if it could not run; missing the goal is reported, not a
# failure (it is a benchmark).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../../lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-1s}

die() { echo "bench/transport: cannot run: $*" >&2; exit 2; }

for tool in go python3; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
(cd "$ROOT" && go build -o "$TMP/bench" ./test/bench/transport) || die "go build failed"

start_server "$TMP/server.log" "$TMP/bench" -serve "127.0.0.1:@PORT@" || die "the server did not start"

"$TMP/bench" -addr "127.0.0.1:$PORT" -rounds "$ROUNDS" -duration "$DURATION" | tee "$TMP/table.md" || die "the clients failed"
awk -F'|' 'NR > 2 { gsub(/[ x]/, "", $6); gsub(/ /, "", $2); gsub(/ /, "", $3); if ($6 + 0 < 2) missed = missed " " $2 "/c=" $3 }
	END { if (missed == "") print "goal: h2.Transport >= 2x net/http at every shape: met";
	      else print "goal: h2.Transport >= 2x net/http at every shape: NOT met at" missed }' "$TMP/table.md"
