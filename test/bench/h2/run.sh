#!/usr/bin/env bash
# run.sh: the h2 benchmark. h2load against four h2c servers serving the same
# 34-byte body at "/", side by side in one run:
#
#   h2rpc    examples/h2/server (our engine)
#   nghttpd  nghttp2's C server (-n 2 workers), the reference
#   h2o      the h2o C server (Debian's h2o; one worker thread, a static file)
#   x/net    a golang.org/x/net/http2 h2c server (./xnet, its own module)
#
#   ./run.sh                 one round: h2load -n 200000 -c 8 -m 32 per server
#   ROUNDS=3 ./run.sh        servers take turns, the median of each is reported
#   PROFILE=1 ./run.sh       also profiles our engine under the same load
#                            (./profserver): the top of the CPU profile and the
#                            allocations per request
#
# Prints a markdown table (server | req/s | ratios to nghttpd and h2o), a
# second one of server CPU time and syscalls per request, and the goal lines
# (ours >= 1.0x nghttpd and >= 0.8x h2o). Exits 1 if a run had failed requests, 2 if it could
# not run; missing the goal is reported, not a failure (it is a benchmark).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../../lib.sh"
ROUNDS=${ROUNDS:-1}
REQUESTS=${REQUESTS:-200000}

die() { echo "bench/h2: cannot run: $*" >&2; exit 2; }

for tool in go h2load nghttpd h2o python3 timeout; do
	command -v "$tool" >/dev/null || die "$tool not found (h2load/nghttpd: apt-get install nghttp2-client nghttp2-server; h2o: apt-get install h2o)"
done

(cd "$ROOT" && go build -o "$TMP/h2rpc" ./examples/h2/server) || die "go build examples/h2/server failed"
(cd "$HERE/xnet" && go build -o "$TMP/xnet" .) || die "go build xnet failed"
if [ "${PROFILE:-0}" = 1 ]; then
	(cd "$ROOT" && go build -o "$TMP/profserver" ./test/bench/h2/profserver) || die "go build profserver failed"
fi
mkdir -p "$TMP/docs"
printf "Hello from h2rpc's HTTP/2 engine!\n" >"$TMP/docs/index.html"
# h2o drops root for nobody, so its files must be readable by all. It speaks
# h2c with prior knowledge on a cleartext listener, as h2load does.
chmod -R a+rX "$TMP"
h2o_conf() { # PORT: writes an h2o configuration with one worker thread, prints its path
	printf 'num-threads: 1\nlisten:\n  host: 127.0.0.1\n  port: %s\nhosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\naccess-log: /dev/null\n' \
		"$1" "$TMP/docs" >"$TMP/h2o-$1.conf"
	chmod a+r "$TMP/h2o-$1.conf"
	echo "$TMP/h2o-$1.conf"
}

# h2o_serve PORT: becomes h2o (exec, so that the PID measured is h2o's) with
# the configuration for PORT.
h2o_serve() { exec h2o -c "$(h2o_conf "$1")"; }

# start NAME CMD...: start_server with the log in $TMP/NAME.log, or gives up.
start() {
	local name=$1
	shift
	start_server "$TMP/${name//\//-}.log" "$@" || die "$name did not start"
}

# load NAME: h2load against PORT; prints req/s, or fails on any failed request.
load() {
	local out
	out=$(timeout 120 h2load -n "$REQUESTS" -c 8 -m 32 "http://127.0.0.1:$PORT/" 2>&1) ||
		{ echo "bench/h2: h2load against $1 failed: $out" >&2; return 1; }
	local ok2xx
	ok2xx=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
	if [ "$ok2xx" != "$REQUESTS" ]; then
		echo "bench/h2: $1 answered ${ok2xx:-0} of $REQUESTS requests with 2xx:" >&2
		grep -E '^(requests|status codes):' <<<"$out" >&2
		return 1
	fi
	sed -n 's/^finished in [0-9.]*[a-z]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}

# usage PID: "reads writes cputicks" of the process so far (Linux /proc): how
# well each server batches frames into syscalls, and the CPU it spends per
# request, which background load on a shared machine disturbs less than req/s.
usage() {
	local io stat
	io=$(awk '/^syscr/ {r=$2} /^syscw/ {w=$2} END {print r+0, w+0}' "/proc/$1/io" 2>/dev/null) || io="0 0"
	# utime and stime are fields 14 and 15; the command name before them may hold spaces.
	stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}') || stat=0
	echo "$io ${stat:-0}"
}
TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)

declare -A RESULTS READS WRITES CPU
run_server() { # NAME CMD...
	local name=$1 rps before after
	start "$@"
	before=$(usage "$SERVER_PID")
	rps=$(load "$name") || exit 1
	after=$(usage "$SERVER_PID")
	stop "$SERVER_PID"
	RESULTS[$name]="${RESULTS[$name]:-} $rps"
	read -r READS[$name] WRITES[$name] CPU[$name] < <(awk -v b="$before" -v a="$after" -v n="$REQUESTS" -v t="$TICK" \
		'BEGIN { split(b, x, " "); split(a, y, " ")
			printf "%.3f %.3f %.2f\n", (y[1]-x[1])/n, (y[2]-x[2])/n, (y[3]-x[3]) / t * 1e6 / n }')
}

for round in $(seq "$ROUNDS"); do
	run_server nghttpd nghttpd --no-tls -n 2 -d "$TMP/docs" @PORT@
	run_server h2rpc "$TMP/h2rpc" -addr 127.0.0.1:@PORT@
	run_server h2o h2o_serve @PORT@
	run_server x/net "$TMP/xnet" -addr 127.0.0.1:@PORT@
	echo "round $round/$ROUNDS:$(for s in nghttpd h2rpc h2o x/net; do printf ' %s %.0f' "$s" "${RESULTS[$s]##* }"; done)" >&2
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# ratios SERVER [REF]: its req/s divided by REF's (default nghttpd's) of the
# same round, per round. The median of those is steadier than a ratio of
# medians on a shared machine, where background load drifts between rounds.
ratios() {
	awk -v a="${RESULTS[$1]}" -v b="${RESULTS[${2:-nghttpd}]}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) printf "%s%.4f", (i > 1 ? " " : ""), x[i] / y[i]
	}'
}

echo
echo "h2load -n $REQUESTS -c 8 -m 32 http://127.0.0.1:PORT/ ($(nproc) cores; medians of $ROUNDS round(s); ratios within each round)"
echo
echo "| server | req/s | ratio to nghttpd | ratio to h2o |"
echo "|---|---:|---:|---:|"
for s in nghttpd h2rpc h2o x/net; do
	m=$(median "${RESULTS[$s]}")
	r=$(median "$(ratios "$s")")
	r2=$(median "$(ratios "$s" h2o)")
	awk -v s="$s" -v m="$m" -v r="$r" -v r2="$r2" 'BEGIN { printf "| %s | %.0f | %.2fx | %.2fx |\n", s, m, r, r2 }'
done
echo
echo "| server | server CPU µs/req | read syscalls/req | write syscalls/req |"
echo "|---|---:|---:|---:|"
for s in nghttpd h2rpc h2o x/net; do
	echo "| $s | ${CPU[$s]} | ${READS[$s]} | ${WRITES[$s]} |"
done
echo "(last round; nghttpd's reads include one pread of the file per request)"
echo
awk -v a="$(median "$(ratios h2rpc)")" -v b="$(median "$(ratios h2rpc h2o)")" 'BEGIN {
	printf "goal: h2rpc >= 1.0x nghttpd: %.2fx, %s\n", a, (a >= 1.0) ? "met" : "NOT met"
	printf "goal: h2rpc >= 0.8x h2o: %.2fx, %s\n", b, (b >= 0.8) ? "met" : "NOT met"
}'

if [ "${PROFILE:-0}" = 1 ]; then
	start profserver "$TMP/profserver" -addr 127.0.0.1:@PORT@ -cpuprofile "$TMP/cpu.pprof"
	load profserver >/dev/null || exit 1
	stop "$SERVER_PID"
	echo
	echo "CPU profile of the engine under the same load (top 30 by cumulative time):"
	(cd "$ROOT" && go tool pprof -top -cum -nodecount=30 "$TMP/profserver" "$TMP/cpu.pprof" 2>/dev/null | sed -n '1,40p')

	# Every allocation recorded (slow), over fewer requests.
	start profserver "$TMP/profserver" -addr 127.0.0.1:@PORT@ -memprofile "$TMP/mem.pprof"
	REQUESTS=50000 load profserver >/dev/null || exit 1
	stop "$SERVER_PID"
	echo
	total=$(cd "$ROOT" && go tool pprof -sample_index=alloc_objects -top "$TMP/profserver" "$TMP/mem.pprof" 2>/dev/null |
		sed -n 's/.* of \([0-9]*\) total.*/\1/p' | head -1)
	awk -v t="$total" 'BEGIN { printf "server allocations per request: %.1f (all sites, 50000 requests)\n", t / 50000 }'
	(cd "$ROOT" && go tool pprof -sample_index=alloc_objects -top -nodecount=8 "$TMP/profserver" "$TMP/mem.pprof" 2>/dev/null | sed -n '/flat%/,$p')
fi
