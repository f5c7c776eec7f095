#!/usr/bin/env bash
# Runs the Connect conformance suite (connectrpc.com/conformance, installed
# when missing) in server mode against test/conformance/server, with the
# features config.yaml names: gRPC, gRPC-Web and Connect over HTTP/1.1 and
# HTTP/2, h2c and TLS (client certificates too), proto and JSON, identity
# and gzip; HTTP/1.1 first through net/http (ServeHTTP), then again on our
# own HTTP/1.1 (Serve, config-http1.yaml). There is no known-failing list:
# any failure fails the run.
# First checks that the stubs are what our generator makes of the suite's
# .proto files today (generate.sh).
set -euo pipefail
VERSION=v1.0.7
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"
export PATH="$PATH:$(go env GOPATH)/bin"

if ! command -v connectconformance >/dev/null || [[ $(connectconformance --version 2>&1) != *"${VERSION#v}"* ]]; then
	go install "connectrpc.com/conformance/cmd/connectconformance@$VERSION"
fi

bash generate.sh
if ! git diff --exit-code --stat -- internal || [[ -n $(git status --porcelain -- internal) ]]; then
	echo "conformance: internal/conformancev1 is stale: run test/conformance/generate.sh and commit the result" >&2
	exit 1
fi

BIN=$(mktemp -d "${TMPDIR:-/tmp}/h2rpc-conformance.XXXXXX")
trap 'rm -rf "$BIN"' EXIT
go build -o "$BIN/server" ./server
echo "conformance: server mode (our server, the suite's reference clients)"
connectconformance --mode server --conf config.yaml --max-servers 2 --parallel 4 -- "$BIN/server"
echo "conformance: server mode, HTTP/1.1 on our own HTTP/1.1 (Serve)"
connectconformance --mode server --conf config-http1.yaml --max-servers 2 --parallel 4 -- "$BIN/server" -http1=own
