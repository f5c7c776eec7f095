#!/usr/bin/env bash
# transport.sh: h2.Transport (our http.RoundTripper, through an http.Client)
# against real HTTP/2 servers, over h2c with prior knowledge and over TLS:
#
#   transportclient  ->  nghttpd (Debian nghttp2-server)
#   transportclient  ->  h2o (Debian h2o; static files, an mruby echo handler)
#   transportclient  ->  node_server.mjs (Node's http2)
#
# Each run fetches a small and an 8 MiB file, sends 50 concurrent requests
# (one dial), cancels a request mid-body and, where the server echoes, streams
# a 1 MiB upload with a request trailer. From nghttpd's log it also checks
# what the server saw: our request trailer and RST_STREAM(CANCEL).
#
# Installs nghttpd, h2o, node, openssl and python3 when missing (Debian, as root).
# Prints one line per check and a summary; exits 1 if a check failed, 2 if it
# could not run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR # the library sits beside or above the script
source "$HERE/../lib.sh"

die() { echo "transport peers: cannot run: $*" >&2; exit 2; }

install_missing nghttpd:nghttp2-server h2o:h2o node:nodejs openssl:openssl python3:python3 || die "apt-get install $MISSING failed (as root)"
for tool in go nghttpd h2o node openssl python3 timeout; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

(cd "$ROOT" && go build -race -o "$TMP/transportclient" ./test/h2peers/transportclient) || die "go build failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" || die "openssl: $(cat "$TMP/openssl.log")"
mkdir -p "$TMP/docs" "$TMP/nodedocs"
printf 'Hello from a real HTTP/2 server, for h2.Transport.\n' >"$TMP/docs/index.html"
# Twice h2's 4 MiB stream window: the request canceled after its first 1,000
# bytes cannot have ended first (with 1 MiB, loopback sometimes delivered the
# whole body, END_STREAM included, before the cancel, and a stream that ended
# needs no RST_STREAM).
head -c 8388608 /dev/urandom >"$TMP/docs/big.bin"
# node_server.mjs answers every path but /echo with the same greeting.
printf 'Hello from the Node http2 peer!\n' | tee "$TMP/nodedocs/index.html" >"$TMP/nodedocs/big.bin"
# h2o drops root for nobody: its files must be readable by all.
chmod -R a+rX "$TMP"

# start LOG CMD...: start_server, or gives up.
start() { start_server "$@" || die "server did not start: $*"; }

# client MODE PEER SCHEME ARGS...: runs transportclient, counting its lines.
client() {
	local m=$1 p=$2 scheme=$3 line ca=()
	shift 3
	[ "$scheme" = https ] && ca=(-ca "$TMP/cert.pem")
	while IFS= read -r line; do
		case $line in
		"ok   "*) ok "$m ${line#ok   }" ;;
		"FAIL "*) echo "FAIL $m ${line#FAIL }"; FAILED=$((FAILED + 1)) ;;
		"exit status 0" | "exit status 1") ;;
		"exit status "*) bad "$m $p transportclient" "$line" ;;
		*) echo "     $line" ;;
		esac
	done < <(timeout 120 "$TMP/transportclient" -peer "$p" -base "$scheme://127.0.0.1:$PORT" "${ca[@]}" "$@" 2>&1; echo "exit status $?")
}

# --- nghttpd ------------------------------------------------------------------
nghttpd_checks() { # MODE SCHEME
	local m=$1 scheme=$2 log="$TMP/nghttpd-$1.log" before=(--no-tls) after=()
	[ "$scheme" = https ] && before=() && after=("$TMP/key.pem" "$TMP/cert.pem")
	start "$log" stdbuf -oL nghttpd -v --echo-upload --trailer "x-peer-trailer: nghttpd" -d "$TMP/docs" \
		"${before[@]}" @PORT@ "${after[@]}"
	client "$m" nghttpd "$scheme" -docroot "$TMP/docs" -get-trailer "x-peer-trailer: nghttpd" -echo /echo
	stop "$SERVER_PID"
	expect "$m nghttpd saw our request trailer" "$(grep -a -c 'recv (stream_id=[0-9]*) x-request-trailer: yes$' "$log")" 1
	expect "$m nghttpd saw our RST_STREAM(CANCEL)" "$(grep -a -A1 'recv RST_STREAM frame' "$log" | grep -c 'error_code=CANCEL(0x08)')" 1
	expect "$m nghttpd saw no user-agent from us" "$(grep -a -c 'recv (stream_id=[0-9]*) user-agent:' "$log")" 0
}
nghttpd_checks h2c http
nghttpd_checks tls https

# --- h2o ----------------------------------------------------------------------
h2o_conf() { # PORT TLS(0|1): writes a configuration, prints its path
	local conf="$TMP/h2o-$1.conf" ssl=""
	[ "$2" = 1 ] && ssl=$(printf '  ssl:\n    certificate-file: %s\n    key-file: %s\n' "$TMP/cert.pem" "$TMP/key.pem")
	cat >"$conf" <<EOF
num-threads: 1
access-log: /dev/null
listen:
  host: 127.0.0.1
  port: $1
$ssl
hosts:
  default:
    paths:
      /echo:
        mruby.handler: |
          Proc.new do |env|
            [200, {"content-type" => "application/octet-stream"}, [env["rack.input"].read]]
          end
      /:
        file.dir: $TMP/docs
EOF
	chmod a+r "$conf"
	echo "$conf"
}
# h2o_serve PORT TLS: becomes h2o (exec, so that start_server's PID is h2o's)
# with the configuration for PORT.
h2o_serve() { exec h2o -c "$(h2o_conf "$1" "$2")"; }
h2o_checks() { # MODE SCHEME
	local m=$1 scheme=$2 tls=0
	[ "$scheme" = https ] && tls=1
	start_server "$TMP/h2o-$m.log" h2o_serve @PORT@ "$tls" || die "h2o did not start"
	client "$m" h2o "$scheme" -docroot "$TMP/docs" -echo /echo
	stop "$SERVER_PID"
}
h2o_checks h2c http
h2o_checks tls https

# --- Node's http2 -------------------------------------------------------------
node_checks() { # MODE SCHEME [--cert FILE --key FILE]
	local m=$1 scheme=$2 log="$TMP/node-$1.log"
	shift 2
	node "$HERE/node_server.mjs" "$@" >"$log" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 100); do
		grep -q '^listening' "$log" 2>/dev/null && break
		sleep 0.05
	done
	PORT=$(awk '/^listening/ {print $2}' "$log")
	[ -n "$PORT" ] || die "node_server.mjs did not start: $(cat "$log")"
	client "$m" node "$scheme" -docroot "$TMP/nodedocs" -echo /echo -cancel echo \
		-echo-trailer x-echo-bytes -seen-trailer x-request-trailer-seen
	stop "$SPID"
}
node_checks h2c http
node_checks tls https --cert "$TMP/cert.pem" --key "$TMP/key.pem"

echo "transport peers: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
