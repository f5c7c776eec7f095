# lib.sh: what run.sh and bridge.sh share, sourced by both: a work directory
# cleaned up on exit, h2spec (installed when missing), a self-signed certificate,
# start_server and run_h2spec.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

H2SPEC=${H2SPEC:-$(command -v h2spec || echo "$(go env GOPATH)/bin/h2spec")}
if [[ ! -x $H2SPEC ]]; then
  GOBIN="$work/bin" go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
  H2SPEC="$work/bin/h2spec"
fi

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 1 -subj /CN=localhost >/dev/null 2>&1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_server LOG CMD...: runs CMD (@PORT@ replaced by a free port) in the
# background until it is the one accepting on that port; sets port. A free
# port is only free when checked: on a shared machine another process may
# take it first, and then our server exits while the port still accepts
# (someone else's listener), so a server that died is started again on
# another port instead of testing whatever answers there.
start_server() {
  local log=$1 attempt pid; shift
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "${@//@PORT@/$port}" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
      kill -0 "$pid" 2>/dev/null || break
      if (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
        sleep 0.2 # a server that lost the port exits at once
        if kill -0 "$pid" 2>/dev/null; then pids+=("$pid"); return 0; fi
        break
      fi
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "server did not start: $(tail -3 "$log")" >&2
  return 1
}

status=0
# run_h2spec NAME FLAGS CMD...: starts CMD (@PORT@ its port) and runs every h2spec
# case against it with FLAGS; status becomes 1 unless all 145 pass.
run_h2spec() {
  local name=$1 flags=$2 port; shift 2
  start_server "$work/${name// /-}.log" "$@"
  local out
  out=$(timeout 300 "$H2SPEC" -h 127.0.0.1 -p "$port" $flags 2>&1) || true
  local summary
  summary=$(echo "$out" | grep -E '^[0-9]+ tests, ' | tail -1)
  echo "h2spec $name: $summary"
  if [[ $summary != "145 tests, 145 passed, 0 skipped, 0 failed" ]]; then
    echo "$out" | grep -B2 -A8 '×' | head -60
    status=1
  fi
}
