# shellcheck shell=bash disable=SC2034 # the variables it sets are for the scripts that source it
# lib.sh: what run.sh and bridge.sh share, sourced by both: test/lib.sh (ROOT,
# TMP, start_server), h2spec (installed when missing), a self-signed
# certificate and run_h2spec.
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

H2SPEC=${H2SPEC:-$(command -v h2spec || echo "$(go env GOPATH)/bin/h2spec")}
if [[ ! -x $H2SPEC ]]; then
  GOBIN="$TMP/bin" go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
  H2SPEC="$TMP/bin/h2spec"
fi

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
  -days 1 -subj /CN=localhost >/dev/null 2>&1

status=0
# run_h2spec NAME FLAGS CMD...: starts CMD (@PORT@ its port) and runs every h2spec
# case against it with FLAGS; status becomes 1 unless all 145 pass.
run_h2spec() {
  local name=$1 flags=$2; shift 2
  start_server "$TMP/${name// /-}.log" "$@"
  local out
  out=$(timeout 300 "$H2SPEC" -h 127.0.0.1 -p "$PORT" $flags 2>&1) || true
  local summary
  summary=$(echo "$out" | grep -E '^[0-9]+ tests, ' | tail -1)
  echo "h2spec $name: $summary"
  if [[ $summary != "145 tests, 145 passed, 0 skipped, 0 failed" ]]; then
    echo "$out" | grep -B2 -A8 '×' | head -60
    status=1
  fi
}
