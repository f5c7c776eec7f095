#!/usr/bin/env bash
# bridge.sh: real clients against a net/http handler served through h2's
# bridge with AllowHTTP1 (examples/h2/compat), one port for both protocols,
# in cleartext and over TLS:
#
#   curl --http2-prior-knowledge, --http2 and --http1.1 (Debian's curl, built
#   with nghttp2): the protocol answered, a 1 MiB body echoed with its
#   trailer, a Range of a file; Node's http2 and https (and http) clients.
#
# Cleartext "curl --http2" asks for "Upgrade: h2c", which the server does not
# honour: the check is that the request is answered in HTTP/1.1.
#
# Installs curl, node, openssl and python3 if missing (Debian, as root).
# Prints one line per check and a summary; exits 1 if a check failed, 2 if it
# could not run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../lib.sh"

die() { echo "h2peers/bridge: cannot run: $*" >&2; exit 2; }

install_missing curl:curl node:nodejs openssl:openssl python3:python3 || die "apt-get install $MISSING failed (as root)"
curl --version | grep -q nghttp2 || die "this curl is built without nghttp2"

(cd "$ROOT" && go build -race -o "$TMP/compat" ./examples/h2/compat) || die "go build failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" || die "openssl: $(cat "$TMP/openssl.log")"
mkdir -p "$TMP/files"
printf "Hello from h2rpc's HTTP/2 engine!\n" >"$TMP/files/hello.txt"
head -c 1048576 /dev/urandom >"$TMP/body.bin"
want_sum=$(sha256sum <"$TMP/body.bin" | cut -d' ' -f1)

# start NAME ARGS...: runs the example on a free port (start_server); sets PORT.
start() {
	local name=$1
	shift
	start_server "$TMP/$name.log" "$TMP/compat" -addr "127.0.0.1:@PORT@" -dir "$TMP/files" "$@" ||
		die "$name did not start"
}

# curl_checks SCHEME: the curl checks against PORT.
curl_checks() {
	local scheme=$1 url="$1://127.0.0.1:$PORT" alpn=""
	[ "$scheme" = https ] && alpn='"h2"'
	local c=(curl -sS -k --max-time 30)
	local got
	got=$("${c[@]}" --http2-prior-knowledge -w ' %{http_version}' "$url/")
	expect "curl --http2-prior-knowledge $scheme: HTTP/2" "$got" "{\"alpnProtocol\":${alpn:-\"\"},\"httpVersion\":\"2.0\"}
 2"
	if [ "$scheme" = https ]; then
		expect "curl --http2 https: ALPN h2" "$("${c[@]}" --http2 -o /dev/null -w '%{http_version}' "$url/")" "2"
	else
		expect "curl --http2 http: Upgrade: h2c answered in HTTP/1.1" \
			"$("${c[@]}" --http2 -o /dev/null -w '%{http_version}' "$url/")" "1.1"
	fi
	got=$("${c[@]}" --http1.1 -w ' %{http_version}' "$url/")
	local alpn1='""'
	[ "$scheme" = https ] && alpn1='"http/1.1"'
	expect "curl --http1.1 $scheme: HTTP/1.1 on the same port" "$got" "{\"alpnProtocol\":$alpn1,\"httpVersion\":\"1.1\"}
 1.1"
	local v
	for v in --http2-prior-knowledge --http1.1; do
		got=$("${c[@]}" "$v" --data-binary @"$TMP/body.bin" -H 'Content-Type: application/octet-stream' \
			-D "$TMP/headers" "$url/echo" | sha256sum | cut -d' ' -f1)
		expect "curl $v $scheme: 1 MiB echoed" "$got" "$want_sum"
		got=$("${c[@]}" "$v" -r 6-9 -w ' %{http_code}' "$url/files/hello.txt")
		expect "curl $v $scheme: Range of a file" "$got" "from 206"
	done
	got=$("${c[@]}" --http2-prior-knowledge -I -w '%{http_code}' -o "$TMP/head" "$url/files/hello.txt")
	expect "curl -I $scheme: HEAD of a file" "$got $(grep -ci '^content-length: 34' "$TMP/head")" "200 1"
}

# node_checks MODE: Node's clients against PORT, their lines counted here.
node_checks() {
	local out="$TMP/node-$1.out" rc fails
	node "$HERE/node_bridge_client.mjs" "$1" "$PORT" >"$out" 2>&1
	rc=$?
	cat "$out"
	fails=$(grep -c '^FAIL' "$out")
	PASSED=$((PASSED + $(grep -c '^ok' "$out")))
	FAILED=$((FAILED + fails))
	if [ "$rc" != 0 ] && [ "$fails" = 0 ]; then bad "node $1" "exited with $rc"; fi
}

start h2c
curl_checks http
node_checks h2c

start tls -cert "$TMP/cert.pem" -key "$TMP/key.pem"
curl_checks https
node_checks tls

for log in "$TMP"/h2c.log "$TMP"/tls.log; do
	if grep -q "DATA RACE\|panic" "$log"; then bad "server log $(basename "$log")" "$(grep -m1 -A5 'DATA RACE\|panic' "$log")"; fi
done

echo "h2peers/bridge: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
