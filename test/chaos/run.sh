#!/usr/bin/env bash
# The chaos suite (docs/chaos.md): servers in their own processes, killed,
# restarted, blackholed, soaked and crowded, each scenario asserting the
# failure contract. Short variant by default (about 3 minutes on 2 cores);
# -full for the full one (about 13 minutes). Needs root and iproute2: the
# suite makes a network namespace and a veth pair, and removes them.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"

args=() timeout=15m
case "${1:-}" in
  "") ;;
  -full | --full) args=(-full) timeout=60m ;;
  *) echo "usage: $0 [-full]" >&2; exit 2 ;;
esac
if [[ $EUID -ne 0 ]]; then
  echo "chaos: needs root (network namespaces, veth pairs)" >&2
  exit 1
fi
if ! command -v ip >/dev/null; then
  echo "chaos: needs ip (apt-get install iproute2)" >&2
  exit 1
fi

go vet -tags chaos ./...
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
go test -tags chaos -count=1 -timeout "$timeout" -v -run . . "${args[@]}" -results "$results" || status=$?
echo
echo "chaos suite ($( ((${#args[@]})) && echo full || echo short)), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs:"
cat "$results"
exit "$status"
