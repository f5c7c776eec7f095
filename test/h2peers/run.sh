#!/usr/bin/env bash
# run.sh: real HTTP/2 peers against the h2 engine, over h2c and TLS.
#
#   nghttp, h2load and Node's http2 client  ->  examples/h2/server
#   peerclient (our client) and examples/h2/client  ->  nghttpd and node_server.mjs
#   Node's http2 client  <-  peerserver: server-initiated PING, SETTINGS, Shutdown
#   Node's http2 client and nghttp -a  ->  featurepeer -serve: push and the other extensions
#   featurepeer -client (our client)  ->  node_features_server.mjs
#   Node's http2 client  ->  examples/h2/proxy (CONNECT)  ->  a TCP target
#
# Needs: go, nghttp, h2load, nghttpd (Debian nghttp2-client, nghttp2-server), node >= 18,
# openssl, awk, stdbuf, timeout. Builds into a temp dir, picks free ports, starts
# and stops every server itself. Prints one line per check and a summary line;
# exits 1 if any check failed, 2 if it could not run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../lib.sh"

die() { echo "h2peers: cannot run: $*" >&2; exit 2; }
failed_line() { echo "FAIL $1"; FAILED=$((FAILED + 1)); } # a helper's own "FAIL name: why"

for tool in go nghttp nghttpd h2load node openssl python3 awk stdbuf timeout; do
	command -v "$tool" >/dev/null || die "$tool not found (nghttp/nghttpd: apt-get install nghttp2-client nghttp2-server)"
done

# --- build, certificates, fixtures -------------------------------------------
# With the race detector: real peers drive the engine's goroutines hard.
(cd "$ROOT" && go build -race -o "$TMP/server" ./examples/h2/server &&
	go build -race -o "$TMP/client" ./examples/h2/client &&
	go build -race -o "$TMP/peerclient" ./test/h2peers/peerclient &&
	go build -race -o "$TMP/peerserver" ./test/h2peers/peerserver &&
	go build -race -o "$TMP/featurepeer" ./test/h2peers/featurepeer &&
	go build -race -o "$TMP/proxy" ./examples/h2/proxy) || die "go build failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" || die "openssl: $(cat "$TMP/openssl.log")"
mkdir -p "$TMP/docs"
printf 'Hello from nghttpd, serving h2peers files.\n' >"$TMP/docs/index.html"
head -c 1048576 /dev/urandom >"$TMP/docs/big.bin"
head -c 1048576 /dev/urandom >"$TMP/body1m.bin"
head -c 20000 /dev/urandom >"$TMP/body20k.bin"
head -c 10485760 /dev/urandom >"$TMP/body10m.bin"
printf "Hello from h2rpc's HTTP/2 engine!\n" >"$TMP/hello.txt"

# peak.awk decides two checks; make sure it counts right on a known log
# (1 and 3 overlap; 5 opens after 1 ends; 7 is reset; then connection 2's
# stream 1 and stream 9 open beside 5: peak 3, and not if a reset or the
# connection prefix were ignored).
printf '%s\n' \
	'[id=1] [  0.0] recv HEADERS frame <length=5, flags=0x04, stream_id=1>' \
	'[id=1] [  0.0] recv HEADERS frame <length=5, flags=0x04, stream_id=3>' \
	'[id=1] [  0.0] send DATA frame <length=5, flags=0x01, stream_id=1>' \
	'[id=1] [  0.0] recv HEADERS frame <length=5, flags=0x05, stream_id=5>' \
	'[id=1] [  0.0] send HEADERS frame <length=5, flags=0x05, stream_id=3>' \
	'[id=1] [  0.0] recv HEADERS frame <length=5, flags=0x25, stream_id=7>' \
	'[id=1] [  0.0] send RST_STREAM frame <length=4, flags=0x00, stream_id=7>' \
	'[id=2] [  0.0] recv HEADERS frame <length=5, flags=0x05, stream_id=1>' \
	'[id=1] [  0.0] recv HEADERS frame <length=5, flags=0x05, stream_id=9>' \
	'[id=2] [  0.0] send DATA frame <length=0, flags=0x01, stream_id=1>' \
	'[id=1] [  0.0] send DATA frame <length=0, flags=0x01, stream_id=5>' >"$TMP/peak-selftest.log"
[ "$(awk -v side=server -f "$HERE/peak.awk" "$TMP/peak-selftest.log")" = 3 ] || die "peak.awk self-test failed"

# --- server processes ---------------------------------------------------------
# start LOG CMD...: start_server, or gives up.
start() { start_server "$@" || die "server did not start: $*"; }

# --- 1. nghttp and Node's http2 client against our example server ------------
nghttp_checks() { # MODE URL
	local m=$1 url=$2 out
	out=$(timeout 20 nghttp "$url/" 2>"$TMP/nghttp.err")
	expect "$m nghttp GET / body" "$out" "$(cat "$TMP/hello.txt")"

	if timeout 20 nghttp -d "$TMP/body1m.bin" "$url/echo" >"$TMP/echo.out" 2>"$TMP/nghttp.err" &&
		cmp -s "$TMP/echo.out" "$TMP/body1m.bin"; then
		ok "$m nghttp POST /echo 1 MiB echoed"
	else
		bad "$m nghttp POST /echo 1 MiB echoed" "$(wc -c <"$TMP/echo.out") bytes back, differ; $(head -c 300 "$TMP/nghttp.err")"
	fi
	timeout 20 nghttp -v -n -d "$TMP/body1m.bin" "$url/echo" >"$TMP/v.log" 2>&1
	expect "$m nghttp trailer x-echo-bytes" "$(grep -ac 'recv (stream_id=[0-9]*) x-echo-bytes: 1048576$' "$TMP/v.log")" 1
	expect "$m nghttp sees SETTINGS max streams 100, window 4 MiB" \
		"$(grep -a -A8 'recv SETTINGS frame' "$TMP/v.log" | grep -E -c 'SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100]$|SETTINGS_INITIAL_WINDOW_SIZE\(0x04\):4194304]$')" 2

	# 10 MiB up in 640 DATA frames: the server's WINDOW_UPDATEs come in
	# batches (after a share of the window is used), not one per frame.
	timeout 30 nghttp -v -n -d "$TMP/body10m.bin" "$url/echo" >"$TMP/wu.log" 2>&1
	expect "$m nghttp 10 MiB echo trailer" "$(grep -ac 'recv (stream_id=[0-9]*) x-echo-bytes: 10485760$' "$TMP/wu.log")" 1
	local wu
	wu=$(grep -ac 'recv WINDOW_UPDATE frame' "$TMP/wu.log")
	if [ "$wu" -ge 1 ] && [ "$wu" -le 64 ]; then ok "$m nghttp 10 MiB: $wu WINDOW_UPDATEs for 640 DATA frames"; else
		bad "$m nghttp 10 MiB: WINDOW_UPDATEs batched" "$wu WINDOW_UPDATE frames for 640 DATA frames, want 1..64"; fi

	# Padded HEADERS and DATA from the peer (-b: up to 255 bytes of padding).
	timeout 20 nghttp -v -b 255 -d "$TMP/body20k.bin" "$url/echo" >"$TMP/pad.log" 2>&1
	expect "$m nghttp padded frames sent" "$(grep -a -c '; .*PADDED' "$TMP/pad.log")" 2
	timeout 20 nghttp -b 255 -d "$TMP/body20k.bin" "$url/echo" 2>/dev/null | cmp -s - "$TMP/body20k.bin" &&
		ok "$m nghttp padded echo" || bad "$m nghttp padded echo" "echoed bytes differ"
	# A 1023-byte stream window on the client: the server must send in steps.
	timeout 20 nghttp -v -n -w 10 -d "$TMP/body1m.bin" "$url/echo" >"$TMP/win.log" 2>&1
	expect "$m nghttp -w 10: largest DATA frame received" \
		"$(sed -n 's/.*recv DATA frame <length=\([0-9]*\),.*/\1/p' "$TMP/win.log" | sort -n | tail -1)" 1023
	timeout 20 nghttp -w 10 -d "$TMP/body1m.bin" "$url/echo" 2>/dev/null | cmp -s - "$TMP/body1m.bin" &&
		ok "$m nghttp -w 10 echo 1 MiB" || bad "$m nghttp -w 10 echo 1 MiB" "echoed bytes differ"
	# A request header block split over HEADERS and CONTINUATION frames.
	out=$(timeout 20 nghttp --continuation "$url/" 2>"$TMP/nghttp.err")
	expect "$m nghttp --continuation GET / body" "$out" "$(cat "$TMP/hello.txt")"
	# HPACK table size 0 on the client: our encoder must not index anything.
	timeout 20 nghttp -v -n -c 0 -m 10 "$url/" >"$TMP/hpack.log" 2>&1
	expect "$m nghttp -c 0: 10 responses decoded" "$(grep -ac 'recv (stream_id=[0-9]*) :status: 200$' "$TMP/hpack.log")" 10

	# h2load: a load generator as a peer, 4 connections x 50 streams.
	out=$(timeout 60 h2load -n 20000 -c 4 -m 50 "$url/" 2>&1)
	expect "$m h2load 20000 requests: 2xx" "$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")" 20000

	timeout 30 nghttp -v -n -m 100 -d "$TMP/body20k.bin" "$url/echo" >"$TMP/m.log" 2>&1
	expect "$m nghttp -m 100 echo: 100 x 200 OK" "$(grep -ac 'recv (stream_id=[0-9]*) :status: 200$' "$TMP/m.log")" 100
	expect "$m nghttp -m 100 echo: 100 x trailer" "$(grep -ac 'recv (stream_id=[0-9]*) x-echo-bytes: 20000$' "$TMP/m.log")" 100
	expect "$m nghttp -m 100 echo: peak concurrent streams" "$(awk -v side=client -f "$HERE/peak.awk" "$TMP/m.log")" 100
	expect "$m nghttp -m 100 echo: no RST_STREAM or GOAWAY error" \
		"$(grep -aE -c 'recv RST_STREAM|error_code=[A-Z_]*_ERROR\(0x0*[1-9a-f]' "$TMP/m.log")" 0
}

# lines_checks PREFIX CMD...: CMD prints "ok NAME" / "FAIL NAME: why" lines.
lines_checks() {
	local prefix=$1 line failed=0
	shift
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$prefix ${line#ok }" ;;
		"FAIL "*) failed_line "$prefix ${line#FAIL }"; failed=1 ;;
		*"WARNING: DATA RACE"*) failed_line "$prefix: data race (trace below)"; failed=1 ;;
		"exit status 0") ;;
		"exit status "*) [ "$failed" = 1 ] || bad "$prefix" "$line" ;;
		*) echo "     $line" ;;
		esac
	done < <(timeout 90 "$@" 2>&1; echo "exit status $?")
}

node_client_checks() { # MODE URL [CA]
	local m=$1
	shift
	lines_checks "$m node client" node "$HERE/node_client.mjs" "$@"
}

start "$TMP/server-h2c.log" "$TMP/server" -addr 127.0.0.1:@PORT@
nghttp_checks h2c "http://127.0.0.1:$PORT"
node_client_checks h2c "http://127.0.0.1:$PORT"

start "$TMP/server-tls.log" "$TMP/server" -addr 127.0.0.1:@PORT@ -cert "$TMP/cert.pem" -key "$TMP/key.pem"
nghttp_checks tls "https://127.0.0.1:$PORT"
node_client_checks tls "https://127.0.0.1:$PORT" "$TMP/cert.pem"

# --- 2. our client against nghttpd and the Node http2 server -----------------
# peerclient_checks NAME ARGS...: one result line per check; sets GRACEFUL to
# the number of sessions peerclient closed gracefully.
peerclient_checks() {
	local name=$1 line failed=0
	shift
	GRACEFUL=-1
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$name ${line#ok }" ;;
		"FAIL "*) failed_line "$name ${line#FAIL }"; failed=1 ;;
		"sessions closed gracefully: "*) GRACEFUL=${line##*: } ;;
		*"WARNING: DATA RACE"*) failed_line "$name peerclient: data race (trace below)"; failed=1 ;;
		"exit status 0") ;;
		"exit status "*) [ "$failed" = 1 ] || bad "$name peerclient" "$line" ;;
		*) echo "     $line" ;;
		esac
	done < <(timeout 90 "$TMP/peerclient" "$@" 2>&1; echo "exit status $?")
}

# example_client_checks MODE URL BODYPATH WANT_BODY TRAILER_LINE
example_client_checks() {
	local m=$1 url=$2 out
	out=$(timeout 20 "$TMP/client" -url "$url$3" 2>/dev/null)
	expect "$m examples/h2/client GET $3" "$out" "$4"
	out=$(timeout 20 "$TMP/client" -v -url "$url/echo" -data "echo me" 2>"$TMP/client.err")
	expect "$m examples/h2/client POST echo body" "$out" "echo me"
	expect "$m examples/h2/client POST echo trailer" "$(grep -c "^$5\$" "$TMP/client.err")" 1
	local proto=h2c
	[ "${url%%:*}" = https ] && proto=h2
	expect "$m examples/h2/client ping RTT over $proto" "$(grep -c "^\* ping RTT [0-9.]*[µnm]*s ($proto)\$" "$TMP/client.err")" 1
}

nghttpd_checks() { # MODE SCHEME [KEY CERT]
	local m=$1 scheme=$2 log="$TMP/nghttpd-$1.log" ca=() tls=()
	shift 2
	[ "$scheme" = http ] && tls=(--no-tls)
	# Window bits 20 = 1048575, distinct from our defaults. stdbuf: the -v log
	# is read while nghttpd still runs.
	start "$log" stdbuf -oL nghttpd -v --echo-upload --trailer "x-peer-trailer: nghttpd" \
		-m 100 -w 20 -d "$TMP/docs" "${tls[@]}" @PORT@ "$@"
	local pid=$SERVER_PID
	[ "$scheme" = https ] && ca=(-ca "$TMP/cert.pem")
	peerclient_checks "$m nghttpd:" -addr "127.0.0.1:$PORT" -peer nghttpd -docroot "$TMP/docs" -window 1048575 "${ca[@]}"
	# What nghttpd saw of the sessions above (one per check), from its -v log.
	expect "$m nghttpd saw a GOAWAY(NO_ERROR) per graceful close" "$(grep -a -A1 'recv GOAWAY frame' "$log" | grep -c 'error_code=NO_ERROR(0x00)')" "$GRACEFUL"
	expect "$m nghttpd saw our PING payloads" "$(grep -a -A1 'recv PING frame' "$log" | grep -c 'opaque_data=683270656572733[012])')" 3
	expect "$m nghttpd saw our SETTINGS window 4 MiB" "$(grep -a -c 'SETTINGS_INITIAL_WINDOW_SIZE(0x04):4194304]$' "$log")" 11
	expect "$m nghttpd saw our updated SETTINGS window 16384" "$(grep -a -c 'SETTINGS_INITIAL_WINDOW_SIZE(0x04):16384]$' "$log")" 1
	expect "$m nghttpd saw our request trailer" "$(grep -a -c 'recv (stream_id=[0-9]*) x-request-trailer: yes$' "$log")" 1
	expect "$m nghttpd saw our RST_STREAM(CANCEL)" "$(grep -a -A1 'recv RST_STREAM frame' "$log" | grep -c 'error_code=CANCEL(0x08)')" 1
	# Our client's WINDOW_UPDATEs while nghttpd sent the 10 MiB echo back.
	local conn wu data
	conn=$(grep -a -m1 'x-tag: go-echo10$' "$log" | sed -n 's/^\(\[id=[0-9]*\]\).*/\1/p')
	wu=$(grep -aF "$conn " "$log" | grep -c 'recv WINDOW_UPDATE frame')
	data=$(grep -aF "$conn " "$log" | grep -c 'send DATA frame')
	if [ -n "$conn" ] && [ "$data" -ge 640 ] && [ "$wu" -ge 1 ] && [ "$wu" -le $((data / 10)) ]; then
		ok "$m nghttpd got $wu WINDOW_UPDATEs from us for $data DATA frames"
	else
		bad "$m our WINDOW_UPDATEs batched" "conn '$conn': $wu WINDOW_UPDATEs for $data DATA frames, want 1..$((data / 10))"
	fi
	expect "$m nghttpd saw 100 concurrent streams at most" "$(awk -v side=server -f "$HERE/peak.awk" "$log")" 100
	expect "$m nghttpd refused no stream" "$(grep -a -A1 'send RST_STREAM frame' "$log" | grep -c 'REFUSED_STREAM')" 0
	example_client_checks "$m nghttpd:" "$scheme://127.0.0.1:$PORT" /index.html "$(cat "$TMP/docs/index.html")" "x-peer-trailer: nghttpd"
	stop "$pid"
}

nghttpd_checks h2c http
nghttpd_checks tls https "$TMP/key.pem" "$TMP/cert.pem"

node_server_checks() { # MODE SCHEME [--cert FILE --key FILE]
	local m=$1 scheme=$2 ca=()
	shift 2
	node "$HERE/node_server.mjs" "$@" >"$TMP/node-$m.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 100); do
		grep -q '^listening' "$TMP/node-$m.log" 2>/dev/null && break
		sleep 0.05
	done
	local port
	port=$(awk '/^listening/ {print $2}' "$TMP/node-$m.log")
	[ -n "$port" ] || die "node_server.mjs did not start: $(cat "$TMP/node-$m.log")"
	[ "$scheme" = https ] && ca=(-ca "$TMP/cert.pem")
	peerclient_checks "$m node server:" -addr "127.0.0.1:$port" -peer node "${ca[@]}"
	example_client_checks "$m node server:" "$scheme://127.0.0.1:$port" / "Hello from the Node http2 peer!" "x-echo-bytes: 7"
	stop "$pid"
}

node_server_checks h2c http
node_server_checks tls https --cert "$TMP/cert.pem" --key "$TMP/key.pem"

# --- 3. what our server starts itself: PING, SETTINGS, graceful Shutdown -------
server_side_checks() { # MODE SCHEME [-cert FILE -key FILE]
	local m=$1 scheme=$2 log="$TMP/server-peerserver-$1.log" line failed=0 ca=()
	shift 2
	"$TMP/peerserver" "$@" >"$log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 200); do
		grep -q '^listening' "$log" 2>/dev/null && break
		sleep 0.05
	done
	local port
	port=$(awk '/^listening/ {print $2}' "$log")
	[ -n "$port" ] || die "peerserver did not start: $(cat "$log")"
	[ "$scheme" = https ] && ca=("$TMP/cert.pem")
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$m node client vs server-initiated ${line#ok }" ;;
		"FAIL "*) failed_line "$m node client vs server-initiated ${line#FAIL }"; failed=1 ;;
		"exit status 0") ;;
		"exit status "*) [ "$failed" = 1 ] || bad "$m node_server_side.mjs" "$line" ;;
		*) echo "     $line" ;;
		esac
	done < <(timeout 60 node "$HERE/node_server_side.mjs" "$scheme://127.0.0.1:$port" "${ca[@]}" 2>&1; echo "exit status $?")
	# Shutdown returned (all sessions ended) and the server exited by itself.
	local st=0
	timeout 10 tail --pid="$pid" -f /dev/null || st=1
	expect "$m peerserver Shutdown returned nil and exited" "$(grep '^shutdown:' "$log")/$st" "shutdown: <nil>/0"
	expect "$m peerserver no goroutine left after Shutdown" "$(grep '^leaked goroutines:' "$log")" "leaked goroutines: 0"
}

server_side_checks h2c http
server_side_checks tls https -cert "$TMP/cert.pem" -key "$TMP/key.pem"

# --- 4. push and the other extensions, both ways ----------------------------
# wait_listening LOG: the port a server printed as "listening PORT".
wait_listening() {
	for _ in $(seq 200); do
		grep -q '^listening' "$1" 2>/dev/null && break
		sleep 0.05
	done
	awk '/^listening/ {print $2}' "$1"
}

feature_checks() { # MODE SCHEME [-cert FILE -key FILE]
	local m=$1 scheme=$2 log="$TMP/server-featurepeer-$1.log" ca=() port pid
	shift 2
	"$TMP/featurepeer" -serve -pad aligned "$@" >"$log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	port=$(wait_listening "$log")
	[ -n "$port" ] || die "featurepeer did not start: $(cat "$log")"
	[ "$scheme" = https ] && ca=("$TMP/cert.pem")
	lines_checks "$m node client vs featurepeer:" node "$HERE/node_features_client.mjs" "$scheme://127.0.0.1:$port" "${ca[@]}"
	# nghttp -a fetches what the page links to: the pushed stylesheet arrives
	# by push, so it never requests it.
	timeout 20 nghttp -v -a "$scheme://127.0.0.1:$port/index.html" >"$TMP/nghttp-push.log" 2>&1
	expect "$m nghttp -a: PUSH_PROMISE received" "$(grep -ac 'recv PUSH_PROMISE frame' "$TMP/nghttp-push.log")" 1
	expect "$m nghttp -a: pushed /style.css answered" "$(grep -aE -c 'recv \(stream_id=2\) (:status: 200|content-type: text/css)$' "$TMP/nghttp-push.log")" 2
	expect "$m nghttp -a: /style.css not requested" "$(grep -a -c 'x-not-pushed' "$TMP/nghttp-push.log")" 0
	# The server pads (-pad aligned): nghttp sees padded HEADERS and DATA.
	expect "$m nghttp sees our padded HEADERS and DATA" \
		"$(grep -aE -A1 'recv (HEADERS|DATA) frame <length=[0-9]*, flags=0x[0-9a-f]*, stream_id=2>' "$TMP/nghttp-push.log" | grep -a -c 'PADDED')" 2
	stop "$pid"

	log="$TMP/node-features-$m.log"
	local nargs=()
	[ "$scheme" = https ] && nargs=(--cert "$TMP/cert.pem" --key "$TMP/key.pem")
	node "$HERE/node_features_server.mjs" "${nargs[@]}" >"$log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	port=$(wait_listening "$log")
	[ -n "$port" ] || die "node_features_server.mjs did not start: $(cat "$log")"
	local cargs=()
	[ "$scheme" = https ] && cargs=(-ca "$TMP/cert.pem")
	lines_checks "$m featurepeer vs node server:" "$TMP/featurepeer" -client "$scheme://127.0.0.1:$port" "${cargs[@]}"
	stop "$pid"

	local pargs=()
	[ "$scheme" = https ] && pargs=(-cert "$TMP/cert.pem" -key "$TMP/key.pem")
	start "$TMP/server-proxy-$m.log" "$TMP/proxy" -addr 127.0.0.1:@PORT@ "${pargs[@]}"
	pid=$SERVER_PID
	lines_checks "$m node client via examples/h2/proxy:" node "$HERE/node_connect_proxy.mjs" "$scheme://127.0.0.1:$PORT" "${ca[@]}"
	stop "$pid"
}

feature_checks h2c http
feature_checks tls https -cert "$TMP/cert.pem" -key "$TMP/key.pem"

for log in "$TMP"/server-*.log; do
	expect "no data race in $(basename "$log" .log)" "$(grep -c 'WARNING: DATA RACE' "$log")" 0
done

echo "h2peers: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
