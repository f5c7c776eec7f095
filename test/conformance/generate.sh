#!/usr/bin/env bash
# Regenerates internal/conformancev1 from the conformance suite's own .proto
# files (connectrpc.com/conformance, the version run.sh runs), with our
# generator: protoc-gen-go's messages and our _h2rpc.pb.go stubs.
set -euo pipefail
VERSION=v1.0.7
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
DIR=$(go mod download -json "connectrpc.com/conformance@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $DIR/proto ]] || { echo "generate: connectrpc.com/conformance@$VERSION has no proto directory" >&2; exit 1; }
P=connectrpc/conformance/v1
PKG=github.com/h2rpc/h2rpc/test/conformance/internal/conformancev1
args=()
for f in config service server_compat client_compat suite; do
	args+=(--opt "M$P/$f.proto=$PKG;conformancev1")
done
go run ./cmd/protoc-gen-h2rpc generate -I "$DIR/proto" --out test/conformance "${args[@]}" \
	--opt module=github.com/h2rpc/h2rpc/test/conformance \
	"$P/config.proto" "$P/service.proto" "$P/server_compat.proto" "$P/client_compat.proto" "$P/suite.proto"
