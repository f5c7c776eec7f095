#!/usr/bin/env bash
# The Connect conformance suite (connectrpc.com/conformance) in CLIENT mode:
# connectconformance runs its reference servers and hands our conformance
# client (test/conformance/client, this module) every case the features in
# client-config.yaml allow: gRPC, gRPC-Web and Connect over HTTP/1.1 and
# HTTP/2, cleartext and TLS (client certificates too), proto and JSON,
# identity and gzip, every stream kind, Connect GET; HTTP/1.1 through
# net/http's client, then again on the client's own HTTP/1.1 (WithHTTP1,
# client-config-http1.yaml). No known-failing list: any failed case fails
# the script. Installs connectconformance when missing.
#
# The stubs in internal/conformancev1 come from our own generator and the
# suite's .proto files in the module cache:
#   P=$(go env GOMODCACHE)/connectrpc.com/conformance@v1.0.7/proto
#   go run ./cmd/protoc-gen-h2rpc generate -I "$P" --out OUT --opt paths=source_relative \
#     --opt Mconnectrpc/conformance/v1/FILE.proto=github.com/h2rpc/h2rpc/test/conformance/internal/conformancev1 ... \
#     connectrpc/conformance/v1/*.proto
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="$PATH:$(go env GOPATH)/bin"
command -v connectconformance >/dev/null || go install connectrpc.com/conformance/cmd/connectconformance@v1.0.7

WORK=$(mktemp -d "${TMPDIR:-/tmp}/h2rpc-conformance-client.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
(cd "$HERE" && go build -o "$WORK/client" ./client)
cd "$WORK"
connectconformance --mode client --conf "$HERE/client-config.yaml" -- "$WORK/client"
connectconformance --mode client --conf "$HERE/client-config-http1.yaml" -- "$WORK/client" -http1=own
