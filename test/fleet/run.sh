#!/usr/bin/env bash
# The fleet suite (test/fleet/doc.go): a client following servers that scale
# out, scale in and are killed, found through DNS on loopback and through
# etcd (Debian's etcd-server, installed here when missing). About a minute.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
if ! command -v etcd >/dev/null; then
  if [[ $EUID -ne 0 ]]; then
    echo "fleet: needs etcd (apt-get install etcd-server, as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
go vet -tags fleet ./...
go test -tags fleet -count=1 -timeout 10m -v .
