#!/usr/bin/env bash
# Runs the gRPC interop cases between h2rpc and grpc-go, both ways:
#   grpc-go's client -> our server, and our client -> grpc-go's server,
# all 14 cases in cleartext plus large_unary and ping_pong over TLS with
# grpc-go's test certificates. Prints "interop: N passed, M failed" and exits
# non-zero when anything failed or could not be set up.
#
# Environment: GRPC_VERSION (default v1.85.0), CASE_TIMEOUT seconds per
# client run (default 60), KEEP_TMP=1 keeps the work directory for debugging.
set -euo pipefail

GRPC_VERSION=${GRPC_VERSION:-v1.85.0}
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
HOST_OVERRIDE=foo.test.google.fr
CASES=(empty_unary large_unary client_streaming server_streaming ping_pong empty_stream
	timeout_on_sleeping_server cancel_after_begin cancel_after_first_response custom_metadata
	status_code_and_message special_status_message unimplemented_method unimplemented_service)
TLS_CASES=(large_unary ping_pong)

# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

die() {
	echo "interop: $*" >&2
	echo "interop: 0 passed, 1 failed (setup)"
	exit 1
}

# is_grpc_interop BIN PKG: BIN is grpc-go's PKG at GRPC_VERSION.
is_grpc_interop() {
	[[ -x "$1" ]] || return 1
	local info
	info=$(go version -m "$1" 2>/dev/null) || return 1
	grep -q "path[[:space:]]*google.golang.org/grpc/interop/$2\$" <<<"$info" &&
		grep -q "mod[[:space:]]*google.golang.org/grpc[[:space:]]*$GRPC_VERSION" <<<"$info"
}

# grpc_bin NAME: path of grpc-go's interop NAME (client or server), installed
# into a temporary GOBIN when the one in GOPATH/bin is missing or another version.
grpc_bin() {
	local have
	have="$(go env GOPATH | cut -d: -f1)/bin/$1"
	if is_grpc_interop "$have" "$1"; then
		echo "$have"
		return
	fi
	echo "interop: installing google.golang.org/grpc/interop/$1@$GRPC_VERSION" >&2
	(cd "$TMP" && GOBIN="$TMP/gobin" GOFLAGS=-mod=mod go install "google.golang.org/grpc/interop/$1@$GRPC_VERSION") >&2 ||
		return 1
	echo "$TMP/gobin/$1"
}

FAILURES=()

# run_case LABEL CASE CLIENT ARGS...: one client run, bounded in time.
run_case() {
	local label=$1 tc=$2 out
	shift 2
	out="$TMP/logs/${label//\//_}-$tc.log"
	if timeout "$CASE_TIMEOUT" "$@" --test_case="$tc" >"$out" 2>&1; then
		PASSED=$((PASSED + 1))
		echo "PASS $label $tc"
	else
		FAILED=$((FAILED + 1))
		FAILURES+=("$label $tc")
		echo "FAIL $label $tc (exit $?):"
		sed 's/^/    /' "$out" | tail -n 15 || true
	fi
}

command -v go >/dev/null || die "go is not on PATH"
command -v timeout >/dev/null || die "timeout (coreutils) is not on PATH"
mkdir -p "$TMP/bin" "$TMP/logs" "$TMP/certs"

echo "interop: building h2rpc interop programs"
(cd "$ROOT" && go build -o "$TMP/bin/" ./test/interop/server ./test/interop/client) || die "build failed"
OUR_SERVER="$TMP/bin/server"
OUR_CLIENT="$TMP/bin/client"
THEIR_SERVER=$(grpc_bin server) || die "cannot install grpc-go's interop server"
THEIR_CLIENT=$(grpc_bin client) || die "cannot install grpc-go's interop client"

# grpc-go's test certificates (the classic *.test.google.fr pair with its CA,
# in testdata/ of the grpc module; testdata/x509/ holds differently named
# ones), copied from the module cache at run time.
GRPC_DIR=$(cd "$TMP" && go mod download -json "google.golang.org/grpc@$GRPC_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "go mod download google.golang.org/grpc@$GRPC_VERSION failed"
for f in server1.pem server1.key ca.pem; do
	cp "$GRPC_DIR/testdata/$f" "$TMP/certs/$f" || die "missing $GRPC_DIR/testdata/$f"
done
CERT="$TMP/certs/server1.pem"
KEY="$TMP/certs/server1.key"
CA="$TMP/certs/ca.pem"

start_server "$TMP/logs/our-server.log" "$OUR_SERVER" --port=@PORT@ || die "our server did not start"
OUR_PORT=$PORT
start_server "$TMP/logs/grpc-server.log" "$THEIR_SERVER" --port=@PORT@ || die "grpc-go server did not start"
THEIR_PORT=$PORT
start_server "$TMP/logs/our-server-tls.log" "$OUR_SERVER" --use_tls --tls_cert_file="$CERT" --tls_key_file="$KEY" --port=@PORT@ ||
	die "our TLS server did not start"
OUR_TLS_PORT=$PORT
start_server "$TMP/logs/grpc-server-tls.log" "$THEIR_SERVER" --use_tls --tls_cert_file="$CERT" --tls_key_file="$KEY" --port=@PORT@ ||
	die "grpc-go TLS server did not start"
THEIR_TLS_PORT=$PORT

TLS_CLIENT_ARGS=(--use_tls --use_test_ca --ca_file="$CA" --server_host_override="$HOST_OVERRIDE")
for tc in "${CASES[@]}"; do
	run_case grpc-go-client/h2rpc-server "$tc" "$THEIR_CLIENT" --server_host=localhost --server_port="$OUR_PORT"
	run_case h2rpc-client/grpc-go-server "$tc" "$OUR_CLIENT" --server_host=localhost --server_port="$THEIR_PORT"
done
for tc in "${TLS_CASES[@]}"; do
	run_case grpc-go-client/h2rpc-server/tls "$tc" "$THEIR_CLIENT" --server_host=localhost --server_port="$OUR_TLS_PORT" "${TLS_CLIENT_ARGS[@]}"
	run_case h2rpc-client/grpc-go-server/tls "$tc" "$OUR_CLIENT" --server_host=localhost --server_port="$THEIR_TLS_PORT" "${TLS_CLIENT_ARGS[@]}"
done

# A server that died during the run is a failure even if its cases passed.
for pid in "${PIDS[@]}"; do
	if ! kill -0 "$pid" 2>/dev/null; then
		FAILED=$((FAILED + 1))
		FAILURES+=("server pid $pid exited during the run")
	fi
done

for f in "${FAILURES[@]}"; do
	echo "failed: $f"
done
echo "interop: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
