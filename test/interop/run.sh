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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/h2rpc-interop.XXXXXX")
SERVER_PIDS=()

cleanup() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${SERVER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ "${KEEP_TMP:-}" == 1 ]]; then
		echo "interop: work directory kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

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
	(cd "$WORK" && GOBIN="$WORK/gobin" GOFLAGS=-mod=mod go install "google.golang.org/grpc/interop/$1@$GRPC_VERSION") >&2 ||
		return 1
	echo "$WORK/gobin/$1"
}

# free_port: a TCP port nobody listens on now (checked, not reserved).
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}

# start_server LOG BIN ARGS...: starts a server on a free port (retrying if
# the port was taken meanwhile) and waits until it accepts. It sets PORT and
# is not run in a subshell, so that SERVER_PIDS keeps the pid for cleanup.
start_server() {
	local log=$1 attempt port pid i
	shift
	for ((attempt = 0; attempt < 5; attempt++)); do
		port=$(free_port) || return 1
		"$@" --port="$port" >>"$log" 2>&1 &
		pid=$!
		for ((i = 0; i < 100; i++)); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				SERVER_PIDS+=("$pid")
				PORT=$port
				return
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "interop: server $1 did not start; log:" >&2
	tail -n 20 "$log" >&2
	return 1
}

PASSED=0
FAILED=0
FAILURES=()

# run_case LABEL CASE CLIENT ARGS...: one client run, bounded in time.
run_case() {
	local label=$1 tc=$2 out
	shift 2
	out="$WORK/logs/${label//\//_}-$tc.log"
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
mkdir -p "$WORK/bin" "$WORK/logs" "$WORK/certs"

echo "interop: building h2rpc interop programs"
(cd "$ROOT" && go build -o "$WORK/bin/" ./test/interop/server ./test/interop/client) || die "build failed"
OUR_SERVER="$WORK/bin/server"
OUR_CLIENT="$WORK/bin/client"
THEIR_SERVER=$(grpc_bin server) || die "cannot install grpc-go's interop server"
THEIR_CLIENT=$(grpc_bin client) || die "cannot install grpc-go's interop client"

# grpc-go's test certificates (the classic *.test.google.fr pair with its CA,
# in testdata/ of the grpc module; testdata/x509/ holds differently named
# ones), copied from the module cache at run time.
GRPC_DIR=$(cd "$WORK" && go mod download -json "google.golang.org/grpc@$GRPC_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "go mod download google.golang.org/grpc@$GRPC_VERSION failed"
for f in server1.pem server1.key ca.pem; do
	cp "$GRPC_DIR/testdata/$f" "$WORK/certs/$f" || die "missing $GRPC_DIR/testdata/$f"
done
CERT="$WORK/certs/server1.pem"
KEY="$WORK/certs/server1.key"
CA="$WORK/certs/ca.pem"

start_server "$WORK/logs/our-server.log" "$OUR_SERVER" || die "our server did not start"
OUR_PORT=$PORT
start_server "$WORK/logs/grpc-server.log" "$THEIR_SERVER" || die "grpc-go server did not start"
THEIR_PORT=$PORT
start_server "$WORK/logs/our-server-tls.log" "$OUR_SERVER" --use_tls --tls_cert_file="$CERT" --tls_key_file="$KEY" ||
	die "our TLS server did not start"
OUR_TLS_PORT=$PORT
start_server "$WORK/logs/grpc-server-tls.log" "$THEIR_SERVER" --use_tls --tls_cert_file="$CERT" --tls_key_file="$KEY" ||
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
for pid in "${SERVER_PIDS[@]}"; do
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
