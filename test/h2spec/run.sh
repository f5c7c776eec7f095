#!/usr/bin/env bash
# Runs h2spec (all 145 cases) against examples/h2/server, over h2c and over TLS.
# Exits non-zero unless every case passes both times.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$(dirname "$0")/lib.sh"
(cd "$ROOT" && go build -o "$TMP/server" ./examples/h2/server)
run_h2spec h2c "" "$TMP/server" -addr "127.0.0.1:@PORT@"
run_h2spec tls "-t -k" "$TMP/server" -addr "127.0.0.1:@PORT@" -cert "$TMP/cert.pem" -key "$TMP/key.pem"
exit $status
