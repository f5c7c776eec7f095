#!/usr/bin/env bash
# Checks that grpcurl can use an h2rpc server through reflection: `list`
# shows grpc.testing.TestService and grpc.health.v1.Health, `describe` shows
# FullDuplexCall's streams, a JSON UnaryCall works and Health/Check answers
# SERVING. The server is test/interop/server when it registers the health and
# reflection services, else the small server in test/grpcurl/server.
# Then, unless GRPCPEER=0, runs test/grpcpeer (its own module): grpc-go's
# health and reflection clients against the same services, so that CI, which
# calls this script, covers both.
# Last, curl --http1.1 (and --http1.0) calls the same server's own HTTP/1.1
# on the same port (Serve): Connect unary calls in JSON, an error, a
# keep-alive connection, a chunked request, Expect: 100-continue, gRPC-Web,
# and gRPC refused with 505.
# Installs grpcurl (and curl, with apt-get) when missing. Prints "grpcurl: N passed, M failed" and
# exits non-zero on any failure.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

die() {
	echo "grpcurl: $*" >&2
	exit 1
}

find_grpcurl() {
	if command -v grpcurl >/dev/null 2>&1; then
		command -v grpcurl
		return
	fi
	local gobin
	gobin=$(go env GOBIN)
	[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
	if [[ ! -x "$gobin/grpcurl" ]]; then
		echo "grpcurl: installing github.com/fullstorydev/grpcurl/cmd/grpcurl@latest" >&2
		(cd "$TMP" && GOFLAGS= go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest) >&2 || return 1
	fi
	echo "$gobin/grpcurl"
}

GRPCURL=$(find_grpcurl) || die "cannot install grpcurl"

cd "$ROOT"
if grep -q 'reflection.Register' test/interop/server/main.go 2>/dev/null &&
	grep -q 'health.Register' test/interop/server/main.go; then
	go build -o "$TMP/server" ./test/interop/server || die "building test/interop/server failed"
	# start_server retries on another port when the server dies (the port was
	# taken), however long it takes to fail its listen.
	start_server "$TMP/server.log" "$TMP/server" --port @PORT@ || die "server did not start"
	ADDR="127.0.0.1:$PORT"
else
	go build -o "$TMP/server" ./test/grpcurl/server || die "building test/grpcurl/server failed"
	"$TMP/server" >"$TMP/addr" 2>"$TMP/server.log" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	ADDR=
	for _ in $(seq 50); do
		ADDR=$(head -n1 "$TMP/addr" 2>/dev/null || true)
		[[ -n "$ADDR" ]] && break
		sleep 0.1
	done
	[[ -n "$ADDR" ]] || die "server did not print its address: $(cat "$TMP/server.log")"
fi

# Wait until the server answers.
for i in $(seq 50); do
	if "$GRPCURL" -plaintext -max-time 2 "$ADDR" list >/dev/null 2>&1; then
		break
	fi
	kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(cat "$TMP/server.log")"
	[[ $i == 50 ]] && die "server at $ADDR did not answer grpcurl list"
	sleep 0.2
done

# matches_all NAME WANT OUT: PASS NAME when every line of WANT (an extended
# regular expression) matches somewhere in OUT; else FAIL NAME with the first
# line that did not and OUT, indented.
matches_all() {
	local name=$1 want=$2 out=$3 re
	while IFS= read -r re; do
		if ! grep -Eq -- "$re" <<<"$out"; then
			echo "FAIL $name: output does not match /$re/:"
			echo "$out" | sed 's/^/    /'
			FAILED=$((FAILED + 1))
			return
		fi
	done <<<"$want"
	echo "PASS $name"
	PASSED=$((PASSED + 1))
}

# check NAME EXPECTED-REGEX GRPCURL-ARGS...: runs grpcurl, and passes when it
# succeeds and its output matches every line of EXPECTED-REGEX. With
# EXPECT_ERROR=1 grpcurl must fail instead (an RPC error status).
check() {
	local name=$1 want=$2 out rc=0
	shift 2
	out=$("$GRPCURL" -plaintext -max-time 10 "$@" 2>&1) || rc=$?
	if [[ "${EXPECT_ERROR:-0}" == 1 && $rc == 0 ]]; then
		echo "FAIL $name: grpcurl succeeded, an error was expected: $out"
		FAILED=$((FAILED + 1))
		return
	fi
	if [[ "${EXPECT_ERROR:-0}" != 1 && $rc != 0 ]]; then
		echo "FAIL $name: grpcurl failed: $out"
		FAILED=$((FAILED + 1))
		return
	fi
	matches_all "$name" "$want" "$out"
}

check "list" $'^grpc\\.testing\\.TestService$\n^grpc\\.health\\.v1\\.Health$' "$ADDR" list
check "list methods" 'FullDuplexCall' "$ADDR" list grpc.testing.TestService
check "describe FullDuplexCall" \
	'rpc FullDuplexCall \( stream \.grpc\.testing\.StreamingOutputCallRequest \) returns \( stream \.grpc\.testing\.StreamingOutputCallResponse \)' \
	"$ADDR" describe grpc.testing.TestService.FullDuplexCall
check "describe message" 'message SimpleRequest' "$ADDR" describe grpc.testing.SimpleRequest
# response_size 3 makes the server answer three zero bytes, "AAAA" in base64.
check "UnaryCall from JSON" '"body": "AAAA"' \
	-d '{"response_size": 3, "payload": {"body": "aGk="}}' "$ADDR" grpc.testing.TestService/UnaryCall
check "Health/Check" '"status": "SERVING"' "$ADDR" grpc.health.v1.Health/Check
EXPECT_ERROR=1 check "error status" $'Code: NotFound\nMessage: nope' \
	-d '{"response_status": {"code": 5, "message": "nope"}}' "$ADDR" grpc.testing.TestService/UnaryCall
EXPECT_ERROR=1 check "unknown health service" 'Code: NotFound' \
	-d '{"service": "no.Such"}' "$ADDR" grpc.health.v1.Health/Check

if [[ "${GRPCPEER:-1}" != 0 ]]; then
	if out=$(cd "$ROOT/test/grpcpeer" && go test -race -count=1 ./... 2>&1); then
		echo "PASS grpc-go health and reflection clients (test/grpcpeer)"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL grpc-go health and reflection clients (test/grpcpeer):"
		echo "$out" | sed 's/^/    /'
		FAILED=$((FAILED + 1))
	fi
fi

# curl_check NAME EXPECTED-REGEX CURL-ARGS...: runs curl -sS -i (or -v when
# the args ask), and passes when every line of EXPECTED-REGEX matches its
# output (headers, body and, with -v, curl's own notes).
install_missing curl:curl || die "cannot install curl"
curl_check() {
	local name=$1 want=$2 out
	shift 2
	out=$(curl -sS --max-time 10 "$@" 2>&1 | tr -d '\000') || true
	matches_all "curl $name" "$want" "$out"
}
URL="http://$ADDR/grpc.testing.TestService/UnaryCall"
JSON=(-H 'Content-Type: application/json' -d '{"response_size": 3}')
curl_check "HTTP/1.1 Connect unary" $'^HTTP/1.1 200 OK\r$
^Content-Length: [0-9]+\r$
"body":"AAAA"' \
	-i --http1.1 "${JSON[@]}" "$URL"
curl_check "HTTP/1.1 Connect error" $'^HTTP/1.1 404 Not Found\r$
"code":"not_found"' \
	-i --http1.1 -H 'Content-Type: application/json' -d '{"response_status": {"code": 5, "message": "nope"}}' "$URL"
curl_check "HTTP/1.1 keep-alive" $'Re-using existing connection
"body":"AAAA"' \
	-v --http1.1 "${JSON[@]}" "$URL" --next --http1.1 "${JSON[@]}" "$URL"
curl_check "HTTP/1.1 chunked request" $'> Transfer-Encoding: chunked
^< HTTP/1.1 200 OK
"body":"AAAA"' \
	-v --http1.1 -H 'Transfer-Encoding: chunked' "${JSON[@]}" "$URL"
curl_check "HTTP/1.1 Expect: 100-continue" $'^< HTTP/1.1 100 Continue
^< HTTP/1.1 200 OK
"body":"AAAA"' \
	-v --http1.1 -H 'Expect: 100-continue' "${JSON[@]}" "$URL"
curl_check "HTTP/1.0 Connect unary" $'^HTTP/1.1 200 OK\r$
"body":"AAAA"' \
	-i --http1.0 "${JSON[@]}" "$URL"
# A gRPC-Web frame: flag 0, length 2, SimpleRequest{response_size: 3}; the
# answer ends with the trailer frame (flag 0x80) saying grpc-status: 0.
curl_check "HTTP/1.1 gRPC-Web unary" $'^HTTP/1.1 200 OK\r$
grpc-status: ?0' \
	-i --http1.1 -H 'Content-Type: application/grpc-web+proto' --data-binary @<(printf '\x00\x00\x00\x00\x02\x10\x03') \
	--output - "$URL"
curl_check "HTTP/1.1 gRPC refused" '^HTTP/1.1 505 ' \
	-i --http1.1 -H 'Content-Type: application/grpc' --data-binary @<(printf '\x00\x00\x00\x00\x00') "$URL"

echo "grpcurl: $PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
