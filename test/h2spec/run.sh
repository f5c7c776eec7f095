#!/usr/bin/env bash
# Runs h2spec (all 145 cases) against examples/h2/server, over h2c and over TLS.
# Exits non-zero unless every case passes both times.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(cd "$root" && go build -o "$work/server" ./examples/h2/server)
run_h2spec h2c "" "$work/server" -addr "127.0.0.1:@PORT@"
run_h2spec tls "-t -k" "$work/server" -addr "127.0.0.1:@PORT@" -cert "$work/cert.pem" -key "$work/key.pem"
exit $status
