#!/usr/bin/env bash
# run.sh: a real browser against http.Handlers served through h2's net/http
# bridge. Headless Chromium (Debian's chromium, as root: --no-sandbox) loads
# each server's page over TLS (self-signed, certificate errors ignored), once
# over HTTP/2 and once with --disable-http2 (HTTP/1.1 on the same port,
# AllowHTTP1). Each page's script writes what it got into the DOM as JSON
# and posts it to its server, whose log this script reads and compares with
# what it expects (not --dump-dom: Chromium's --virtual-time-budget may dump
# the DOM before a page's last fetch is done):
#   test/browser/server: a streamed response and a Range of a file;
#   test/browser/rpc: an rpc.Server mounted beside the page on a mux, called
#   with Connect (JSON, unary and server streaming) and gRPC-Web (protobuf):
#   results, errors and trailer metadata.
#
# Installs chromium, openssl and python3 if missing (Debian). Exits 1 if a
# check failed, 2 if it could not run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../lib.sh"
die() { echo "browser: cannot run: $*" >&2; exit 2; }

install_missing chromium:chromium openssl:openssl python3:python3 || die "apt-get install $MISSING failed (as root)"

(cd "$ROOT" && go build -race -o "$TMP/server" ./test/browser/server && go build -race -o "$TMP/rpc" ./test/browser/rpc) ||
	die "go build failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" || die "openssl: $(cat "$TMP/openssl.log")"
mkdir -p "$TMP/files"
printf '0123456789abcdefghijklmnopqrstuvwxyz' >"$TMP/files/data.txt"

# start NAME ARGS...: runs $TMP/NAME over TLS on a free port (start_server);
# sets PORT.
start() {
	local name=$1
	shift
	start_server "$TMP/$name.log" "$TMP/$name" -addr "127.0.0.1:@PORT@" -cert "$TMP/cert.pem" -key "$TMP/key.pem" "$@" ||
		die "$name did not start"
}
start server -dir "$TMP/files"
BRIDGE_PORT=$PORT
start rpc
RPC_PORT=$PORT

status=0
# bridge_want PROTO HOP: what test/browser/server's page reports.
bridge_want() {
	echo "{\"proto\":\"$1\",\"stream\":\"chunk0;chunk1;chunk2;chunk3;chunk4;\",\"streamOK\":true,\"rangeStatus\":206,\"contentRange\":\"bytes 10-19/36\",\"range\":\"abcdefghij\",\"nextHopProtocol\":\"$2\"}"
}

# rpc_want PROTO HOP: what test/browser/rpc's page reports. Connect's
# errors are the code names of its protocol (400 invalid_argument for a
# unary call; a stream's in its end message), gRPC-Web's the numeric
# grpc-status in the trailer envelope (11 is OUT_OF_RANGE).
rpc_want() {
	local connect='"contentType":"application/connect+json"'
	local web='"contentType":"application/grpc-web+proto"'
	printf '%s' "{\"proto\":\"$1\"," \
		'"connectSay":{"status":200,"body":{"text":"hello, h2rpc"},"trailerLength":"12"},' \
		'"connectSayError":{"status":400,"body":{"code":"invalid_argument"},"trailerLength":null},' \
		'"connectSayLarge":{"status":200,"contentEncoding":"gzip","echoed":true},' \
		'"connectCount":{"status":200,'"$connect"',"messages":[{"number":1},{"number":2},{"number":3}],"end":{"metadata":{"x-count":["3"]}}},' \
		'"connectCountError":{"status":200,'"$connect"',"messages":[],"end":{"error":{"code":"out_of_range"}}},' \
		'"grpcWebSay":{"status":200,'"$web"',"messages":["hello, h2rpc"],"trailers":{"grpc-status":"0","x-length":"12"}},' \
		'"grpcWebCount":{"status":200,'"$web"',"messages":[1,2,3],"trailers":{"grpc-status":"0","x-count":"3"}},' \
		'"grpcWebCountError":{"status":200,'"$web"',"messages":[],"trailers":{"grpc-status":"11"}},' \
		"\"nextHopProtocol\":\"$2\"}"
}

# visit NAME SERVER PORT WANT [CHROMIUM FLAGS...]: loads the page of SERVER
# (server or rpc) at PORT and waits for the result it reports to the server,
# checks it, or shows its last progress report (the rpc page's).
visit() {
	local name=$1 log="$TMP/$2.log" at=$3 want=$4 seen
	shift 4
	seen=$(grep -c '^result ' "$log")
	timeout 90 chromium --headless --no-sandbox --disable-gpu --ignore-certificate-errors \
		--no-first-run --user-data-dir="$TMP/profile-$name" "$@" "https://127.0.0.1:$at/" \
		>"$TMP/chromium-$name.log" 2>&1 &
	local browser=$!
	for _ in $(seq 600); do
		(($(grep -c '^result ' "$log") > seen)) && break
		kill -0 "$browser" 2>/dev/null || break
		sleep 0.1
	done
	kill "$browser" 2>/dev/null
	wait "$browser" 2>/dev/null
	local result
	result=$(grep '^result ' "$log" | sed -n "$((seen + 1)){s/^result //;p}")
	if [ "$result" = "$want" ]; then
		echo "ok   chromium $name: $result"
	else
		echo "FAIL chromium $name: got '${result:-<no result; last progress: $(grep '^progress ' "$log" | tail -1)>}'"
		echo "     want '$want'"
		tail -5 "$TMP/chromium-$name.log" | sed 's/^/     chromium: /'
		status=1
	fi
}
visit http2 server "$BRIDGE_PORT" "$(bridge_want HTTP/2.0 h2)"
visit http1 server "$BRIDGE_PORT" "$(bridge_want HTTP/1.1 http/1.1)" --disable-http2
visit rpc-http2 rpc "$RPC_PORT" "$(rpc_want HTTP/2.0 h2)"
visit rpc-http1 rpc "$RPC_PORT" "$(rpc_want HTTP/1.1 http/1.1)" --disable-http2

for name in server rpc; do
	if grep -q "DATA RACE\|panic" "$TMP/$name.log"; then
		echo "FAIL $name log: $(grep -m1 -A5 'DATA RACE\|panic' "$TMP/$name.log")"
		status=1
	fi
done
exit $status
