#!/usr/bin/env bash
# bridge.sh: h2spec (all 145 cases) against a net/http handler served through
# h2's bridge (examples/h2/compat, AllowHTTP1 on), over h2c and over TLS.
# Exits non-zero unless every case passes both times.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$(dirname "$0")/lib.sh"
(cd "$ROOT" && go build -o "$TMP/compat" ./examples/h2/compat)
run_h2spec "bridge h2c" "" "$TMP/compat" -addr "127.0.0.1:@PORT@" -dir "$TMP"
run_h2spec "bridge tls" "-t -k" "$TMP/compat" -addr "127.0.0.1:@PORT@" -dir "$TMP" -cert "$TMP/cert.pem" -key "$TMP/key.pem"
exit $status
