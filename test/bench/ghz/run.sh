#!/usr/bin/env bash
# run.sh: ghz (grpc-go's load generator) against our interop server and
# grpc-go's, in one run, rounds alternating, and the median of the rounds' ratios.
#
#   bash test/bench/ghz/run.sh            # 5 rounds of 5 s each
#   ROUNDS=3 SECS=3 bash test/bench/ghz/run.sh
#
# Besides calls/s it reports each server's CPU time per call (from
# /proc/PID/stat), which still compares the servers when ghz is the
# bottleneck, and ghz's own CPU time and voluntary context switches per call
# against each (from its rusage): what each server makes the client spend.
# Then, unless WIRE_CALLS=0, one more run of WIRE_CALLS calls per server
# through wirecount (a relay beside this script) gives the frames per call each
# way by type: what the servers send, not how fast. The call is grpc.testing.TestService/UnaryCall with a 1-byte payload each
# way, 64 concurrent calls over 4 connections (issue 13's shape).
#
# PLACEMENT=shared (the default) lets ghz and the server share every CPU, as
# ghz run beside a server on one machine does: a server that spends less CPU
# per call leaves more of it to the client, so calls/s counts both. On a
# 2-core machine ghz needs more CPU per call than either server, so with
# PLACEMENT=split (the server on CPU 1, ghz on CPU 0, through taskset) ghz's
# own core bounds both runs and calls/s mostly measures the client; the
# server's CPU per call is then the figure that compares the servers. A
# benchmark, not a test: it prints figures and fails only when something
# could not run.
set -euo pipefail

GRPC_VERSION=${GRPC_VERSION:-v1.85.0}
GHZ_VERSION=${GHZ_VERSION:-v0.93.0}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
CONC=${CONC:-64}
CONNS=${CONNS:-4}
WIRE_CALLS=${WIRE_CALLS:-20000}
PLACEMENT=${PLACEMENT:-shared}

# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$(dirname "${BASH_SOURCE[0]}")/../../lib.sh"
die() { echo "ghz bench: $*" >&2; exit 2; }

command -v go >/dev/null || die "go is not on PATH"
command -v python3 >/dev/null || die "python3 is not on PATH"
GOBIN_DIR="$(go env GOPATH | cut -d: -f1)/bin"
export PATH="$PATH:$GOBIN_DIR"
if ! command -v ghz >/dev/null; then
	echo "ghz bench: installing ghz $GHZ_VERSION" >&2
	(cd "$TMP" && GOFLAGS=-mod=mod go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION") || die "cannot install ghz"
fi
mkdir -p "$TMP/bin"
(cd "$ROOT" && go build -o "$TMP/bin/ours" ./test/interop/server) || die "cannot build our interop server"
(cd "$TMP" && GOBIN="$TMP/bin" GOFLAGS=-mod=mod go install "google.golang.org/grpc/interop/server@$GRPC_VERSION") ||
	die "cannot install grpc-go's interop server"
mv "$TMP/bin/server" "$TMP/bin/grpcgo"
(cd "$ROOT" && go build -o "$TMP/bin/wirecount" ./test/bench/ghz/wirecount) || die "cannot build wirecount"

SERVER_CPU=() CLIENT_CPU=()
case $PLACEMENT in
shared) ;;
split)
	command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] || die "PLACEMENT=split needs taskset and two CPUs"
	SERVER_CPU=(taskset -c 1) CLIENT_CPU=(taskset -c 0)
	;;
*) die "PLACEMENT is shared or split, not $PLACEMENT" ;;
esac

# start NAME: starts that server on a free port (start_server); sets PORT.
start() {
	start_server "$TMP/$1.log" "${SERVER_CPU[@]}" "$TMP/bin/$1" --port=@PORT@ || die "$1 did not start"
	echo "$SERVER_PID" >"$TMP/$1.pid"
}

start ours
OURS_PORT=$PORT
start grpcgo
GRPCGO_PORT=$PORT

# cpu_ticks NAME: the server's user+system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$TMP/$1.pid")/stat"; }

# ghz_args ADDR [ghz flags...]: the call every run makes, against ADDR.
ghz_args() {
	local addr=$1
	shift
	GHZ=(ghz --insecure --format=json "$@"
		--import-paths="$ROOT/proto" --proto="$ROOT/proto/grpc/testing/test.proto"
		--call=grpc.testing.TestService.UnaryCall -d '{"response_size":1,"payload":{"body":"AQ=="}}'
		-c "$CONC" --connections="$CONNS" "$addr")
}

# measured OUT CMD...: runs CMD with its stdout in OUT.json and its stderr in
# OUT.err, and writes its CPU seconds and voluntary context switches (from
# its rusage) to OUT.client.
measured() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
out = sys.argv[1]
with open(out + ".json", "w") as o, open(out + ".err", "w") as e:
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out + ".client", "w") as f:
    print(ru.ru_utime + ru.ru_stime, ru.ru_nvcsw, file=f)
sys.exit(rc)
PY
}

# round NAME PORT: one ghz run; appends "rps p50_ms p99_ms cut_off
# server_cpu_us_per_call ghz_cpu_us_per_call ghz_switches_per_call" to $TMP/NAME.txt.
round() {
	local before after
	ghz_args "127.0.0.1:$2" --skipFirst=1000 -z "${SECS}s"
	before=$(cpu_ticks "$1")
	measured "$TMP/$1" "${CLIENT_CPU[@]}" "${GHZ[@]}" || die "ghz against $1 failed: $(tail -5 "$TMP/$1.err")"
	after=$(cpu_ticks "$1")
	python3 - "$TMP/$1.json" "$CONC" "$((after - before))" "$(getconf CLK_TCK)" "$TMP/$1.client" >>"$TMP/$1.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = {d["percentage"]: d["latency"] for d in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
errs = sum(n for k, n in codes.items() if k != "OK")
# ghz ends a timed run by closing its connections under the calls still in
# flight (at most c of them), which fail; more than that is a real failure.
if errs > int(sys.argv[2]):
    sys.exit(f"{errs} calls failed: {codes}")
# On a loaded machine a short run may not get past the skipped first calls:
# then there is nothing to divide by.
if r["count"] == 0:
    sys.exit("ghz bench: no call counted after the 1000 skipped; raise SECS")
# ghz's CPU covers the whole run, the skipped first calls and the cut-off
# ones too, so it is divided by every call it made.
calls = r["count"]
made = calls + 1000 + errs
cpu_us = int(sys.argv[3]) / int(sys.argv[4]) * 1e6
ghz_s, ghz_switches = map(float, open(sys.argv[5]).read().split())
print(r["rps"], lat.get(50, 0) / 1e6, lat.get(99, 0) / 1e6, errs, cpu_us / calls, ghz_s * 1e6 / made, ghz_switches / made)
PY
}

# wire NAME PORT: WIRE_CALLS calls through wirecount; prints the frames per
# call each way.
wire() {
	local wpid addr
	"$TMP/bin/wirecount" -target "127.0.0.1:$2" >"$TMP/$1.wire" 2>"$TMP/$1.wire.err" &
	wpid=$!
	PIDS+=("$wpid")
	for _ in $(seq 100); do
		addr=$(head -1 "$TMP/$1.wire")
		[ -n "$addr" ] && break
		sleep 0.05
	done
	[ -n "$addr" ] || die "wirecount did not start: $(cat "$TMP/$1.wire.err")"
	ghz_args "$addr" -n "$WIRE_CALLS"
	"${CLIENT_CPU[@]}" "${GHZ[@]}" >"$TMP/$1.wire.json" 2>"$TMP/$1.wire.ghz" || die "ghz through wirecount against $1 failed"
	kill -INT "$wpid"
	wait "$wpid" || true
	python3 - "$1" "$TMP/$1.wire" "$TMP/$1.wire.json" <<'PY'
import json, sys
name, counts, run = sys.argv[1], json.loads(open(sys.argv[2]).read().split("\n", 1)[1]), json.load(open(sys.argv[3]))
calls = run["count"]
for way, label in (("to_client", "server -> ghz"), ("to_server", "ghz -> server")):
    t = counts[way]
    frames = ", ".join(f"{k} {v / calls:.3f}" for k, v in sorted(t["frames"].items()) if v / calls >= 0.0005)
    print(f"  {name} {label}: {t['bytes'] / calls:.1f} bytes, header blocks {t['header_block'] / calls:.1f} bytes per call; frames per call: {frames}")
PY
}

WHERE=", ghz and the server sharing every CPU"
[ "$PLACEMENT" = split ] && WHERE=", server on CPU 1, ghz on CPU 0"
echo "ghz: UnaryCall 1 B, c=$CONC on $CONNS connections, ${SECS}s x $ROUNDS rounds$WHERE"
for i in $(seq "$ROUNDS"); do
	if ((i % 2)); then round ours "$OURS_PORT"; round grpcgo "$GRPCGO_PORT"; else round grpcgo "$GRPCGO_PORT"; round ours "$OURS_PORT"; fi
	printf '  round %d: ours %.0f calls/s, grpc-go %.0f calls/s\n' "$i" "$(tail -1 "$TMP/ours.txt" | cut -d' ' -f1)" "$(tail -1 "$TMP/grpcgo.txt" | cut -d' ' -f1)"
done
python3 - "$TMP/ours.txt" "$TMP/grpcgo.txt" <<'PY'
import statistics, sys
def med(path):
    rows = [list(map(float, l.split())) for l in open(path)]
    return [statistics.median(c) for c in zip(*rows)]
def rates(path):
    return [float(l.split()[0]) for l in open(path)]
o, g = med(sys.argv[1]), med(sys.argv[2])
print("| server | calls/s | p50 ms | p99 ms | calls cut off at the end | server CPU µs per call | ghz CPU µs per call | ghz context switches per call |\n|---|---|---|---|---|---|---|---|")
print(f"| h2rpc | {o[0]:.0f} | {o[1]:.2f} | {o[2]:.2f} | {o[3]:.0f} | {o[4]:.1f} | {o[5]:.1f} | {o[6]:.3f} |")
print(f"| grpc-go | {g[0]:.0f} | {g[1]:.2f} | {g[2]:.2f} | {g[3]:.0f} | {g[4]:.1f} | {g[5]:.1f} | {g[6]:.3f} |")
# Each round runs the two servers back to back, so the ratio judged is the
# median of the per-round ratios, as in test/bench/rpc: on this VM a
# server's rate drifts by a third over a few rounds, and the ratio of the
# medians would pair figures taken minutes apart.
per_round = [a / b for a, b in zip(rates(sys.argv[1]), rates(sys.argv[2]))]
rounds = ", ".join(f"{r:.2f}x" for r in per_round)
print(f"ours / grpc-go: {statistics.median(per_round):.2f}x calls/s, the median of the rounds' ratios ({rounds}; goal: at least 1.5x); ratio of the medians {o[0] / g[0]:.2f}x; p50 {o[1] / g[1]:.2f}x")
print(f"server CPU per call: grpc-go / ours = {g[4] / o[4]:.2f}x (how many of our calls one of grpc-go's costs)")
print(f"ghz CPU per call: against grpc-go / against ours = {g[5] / o[5]:.2f}x (with PLACEMENT=split ghz's core is the bound and the calls/s ratio follows this one)")
PY
if ((WIRE_CALLS > 0)); then
	echo "on the wire ($WIRE_CALLS calls through wirecount, per call):"
	wire ours "$OURS_PORT"
	wire grpcgo "$GRPCGO_PORT"
fi
