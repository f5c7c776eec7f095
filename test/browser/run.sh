#!/usr/bin/env bash
# run.sh: a real browser against an http.Handler served through h2's net/http
# bridge. Headless Chromium (Debian's chromium, as root: --no-sandbox) loads
# test/browser/server's page over TLS (self-signed, certificate errors
# ignored), once over HTTP/2 and once with --disable-http2 (HTTP/1.1 on the
# same port, AllowHTTP1). The page's script fetches a streamed response and
# a Range of a file and writes the results into the DOM, which this script
# reads back with --dump-dom and checks.
#
# Installs chromium, openssl and python3 if missing (Debian). Exits 1 if a
# check failed, 2 if it could not run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
die() { echo "browser: cannot run: $*" >&2; exit 2; }

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		die "apt-get install ${need[*]} failed"
fi

(cd "$ROOT" && go build -race -o "$TMP/server" ./test/browser/server) || die "go build failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" || die "openssl: $(cat "$TMP/openssl.log")"
mkdir -p "$TMP/files"
printf '0123456789abcdefghijklmnopqrstuvwxyz' >"$TMP/files/data.txt"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TMP/server" -addr "127.0.0.1:$PORT" -cert "$TMP/cert.pem" -key "$TMP/key.pem" -dir "$TMP/files" >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done

status=0
# visit NAME WANT_PROTO WANT_HOP [CHROMIUM FLAGS...]: loads the page, checks #result.
visit() {
	local name=$1 proto=$2 hop=$3
	shift 3
	local dom
	# --virtual-time-budget lets the page's fetches finish before the DOM is dumped.
	dom=$(timeout 90 chromium --headless --no-sandbox --disable-gpu --ignore-certificate-errors \
		--no-first-run --user-data-dir="$TMP/profile-$name" --virtual-time-budget=20000 \
		"$@" --dump-dom "https://127.0.0.1:$PORT/" 2>"$TMP/chromium-$name.log")
	local result
	result=$(sed -n 's:.*<pre id="result">\(.*\)</pre>.*:\1:p' <<<"$dom" | sed 's/&quot;/"/g; s/&amp;/\&/g')
	local want="{\"proto\":\"$proto\",\"stream\":\"chunk0;chunk1;chunk2;chunk3;chunk4;\",\"streamOK\":true,\"rangeStatus\":206,\"contentRange\":\"bytes 10-19/36\",\"range\":\"abcdefghij\",\"nextHopProtocol\":\"$hop\"}"
	if [ "$result" = "$want" ]; then
		echo "ok   chromium $name: $result"
	else
		echo "FAIL chromium $name: got '${result:-<no #result in the DOM>}'"
		echo "     want '$want'"
		tail -5 "$TMP/chromium-$name.log" | sed 's/^/     chromium: /'
		status=1
	fi
}
visit http2 HTTP/2.0 h2
visit http1 HTTP/1.1 http/1.1 --disable-http2

if grep -q "DATA RACE\|panic" "$TMP/server.log"; then
	echo "FAIL server log: $(grep -m1 -A5 'DATA RACE\|panic' "$TMP/server.log")"
	status=1
fi
exit $status
