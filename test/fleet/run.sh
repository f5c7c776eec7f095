#!/usr/bin/env bash
# The fleet suite (test/fleet/doc.go): a client following servers that scale
# out, scale in and are killed, through DNS on loopback. About half a minute.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
go vet -tags fleet ./...
go test -tags fleet -count=1 -timeout 10m -v .
