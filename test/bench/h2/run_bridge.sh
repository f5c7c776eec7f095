#!/usr/bin/env bash
# run_bridge.sh: the net/http bridge's benchmark. h2load against one trivial
# http.Handler (a 34-byte text body) served two ways over h2c, taking turns:
#
#   bridge    h2.Server{HTTP: h}: the handler through h2rpc's engine
#   net/http  http.Server with Protocols allowing unencrypted HTTP/2: the
#             same handler on net/http's own HTTP/2 server
#
# and, for reference, the engine without the bridge (examples/h2/server,
# an h2.Handler answering the same body).
#
#   ./run_bridge.sh               one round: h2load -n 200000 -c 8 -m 32 each
#   ROUNDS=3 ./run_bridge.sh      servers take turns, medians reported
#
# Prints a markdown table (server | req/s | server CPU µs/req) and the goal
# line (bridge >= 3x net/http, by the median of the per-round ratios). Exits 1
# if a run had failed requests, 2 if it could not run; missing the goal is
# reported, not a failure (it is a benchmark, not a timed test).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../../lib.sh"
ROUNDS=${ROUNDS:-1}
REQUESTS=${REQUESTS:-200000}
die() { echo "bench/h2 bridge: cannot run: $*" >&2; exit 2; }

for tool in go h2load python3 timeout; do
	command -v "$tool" >/dev/null || die "$tool not found (h2load: apt-get install nghttp2-client)"
done
(cd "$ROOT" && go build -o "$TMP/httpbridge" ./test/bench/h2/httpbridge &&
	go build -o "$TMP/engine" ./examples/h2/server) || die "go build failed"

# start CMD...: start_server with the log in $TMP/server.log, or gives up.
start() { start_server "$TMP/server.log" "$@" || die "$1 did not start"; }

ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)

declare -A RPS CPU
# run NAME CMD...: one h2load run; appends req/s and server CPU µs/req.
run() {
	local name=$1 out before after ok2xx
	shift
	start "$@"
	before=$(ticks "$SERVER_PID")
	out=$(timeout 300 h2load -n "$REQUESTS" -c 8 -m 32 "http://127.0.0.1:$PORT/" 2>&1) ||
		{ echo "h2load against $name failed: $out" >&2; exit 1; }
	after=$(ticks "$SERVER_PID")
	stop "$SERVER_PID"
	ok2xx=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
	[ "$ok2xx" = "$REQUESTS" ] || { echo "$name answered ${ok2xx:-0} of $REQUESTS with 2xx" >&2; exit 1; }
	RPS[$name]="${RPS[$name]:-} $(sed -n 's/^finished in [0-9.]*[a-z]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")"
	CPU[$name]="${CPU[$name]:-} $(awk -v b="$before" -v a="$after" -v n="$REQUESTS" -v t="$TICK" 'BEGIN { printf "%.2f", (a - b) / t * 1e6 / n }')"
}

for round in $(seq "$ROUNDS"); do
	run net/http "$TMP/httpbridge" -server nethttp -addr 127.0.0.1:@PORT@
	run bridge "$TMP/httpbridge" -server bridge -addr 127.0.0.1:@PORT@
	run engine "$TMP/engine" -addr 127.0.0.1:@PORT@
	echo "round $round/$ROUNDS:$(for s in net/http bridge engine; do printf ' %s %.0f' "$s" "${RPS[$s]##* }"; done)" >&2
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
ratios() { awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" 'BEGIN { n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) printf "%s%.4f", (i > 1 ? " " : ""), x[i] / y[i] }'; }

echo
echo "h2load -n $REQUESTS -c 8 -m 32 http://127.0.0.1:PORT/ ($(nproc) cores; medians of $ROUNDS round(s))"
echo
echo "| server | req/s | ratio to net/http | server CPU µs/req |"
echo "|---|---:|---:|---:|"
for s in net/http bridge engine; do
	awk -v s="$s" -v m="$(median "${RPS[$s]}")" -v r="$(median "$(ratios "$s" net/http)")" -v c="$(median "${CPU[$s]}")" \
		'BEGIN { printf "| %s | %.0f | %.2fx | %.2f |\n", s, m, r, c }'
done
echo
awk -v r="$(median "$(ratios bridge net/http)")" 'BEGIN { printf "goal: bridge >= 3x net/http: %.2fx, %s\n", r, (r >= 3) ? "met" : "NOT met" }'
