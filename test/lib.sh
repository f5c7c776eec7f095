# shellcheck shell=bash disable=SC2034 # the variables it sets are for the scripts that source it
# lib.sh: what the scripts under test/ share. Sourced, with a path relative
# to the script (source "$(dirname "$0")/../lib.sh"), it sets
#
#   ROOT   the repository's root
#   TMP    a fresh work directory, removed on exit
#   PIDS   the processes to stop on exit (start_server adds its servers)
#
# and installs an EXIT trap that stops every process in PIDS and removes TMP
# (KEEP_TMP=1 keeps it, for a look at the logs).
# Safe under set -e and set -u: the helpers' own failures are either
# returned or ignored, never left to abort the caller.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
PIDS=()

lib_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ ${KEEP_TMP:-} == 1 ]]; then
		echo "work directory kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap lib_cleanup EXIT

# free_port: prints a TCP port of 127.0.0.1 that was free when checked (the
# kernel's choice for a bind to port 0).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server LOG CMD...: runs CMD in the background (every @PORT@ in its
# arguments replaced by a free port), its output in LOG, until it is the one
# accepting on that port; sets PORT and SERVER_PID and adds it to PIDS.
# A free port is only free when checked: on a shared machine another process
# may take it first, and then our server exits while the port still accepts
# (someone else's listener). So a server counts as started only when the port
# accepts and it is still alive 0.2 s later, and one that died is started
# again on another port, five times at most. A server gets 10 s to listen
# (race-built binaries start slowly on a loaded machine). When none started,
# prints the command and the tail of LOG to stderr and returns 1.
start_server() {
	local log=$1 pid
	shift
	for _ in 1 2 3 4 5; do
		PORT=$(free_port) || { echo "start_server: no free port" >&2; return 1; }
		"${@//@PORT@/$PORT}" >"$log" 2>&1 &
		pid=$!
		if wait_port "$pid" "$PORT"; then
			sleep 0.2 # a server that lost the port exits at once
			if kill -0 "$pid" 2>/dev/null; then
				SERVER_PID=$pid
				PIDS+=("$pid")
				return 0
			fi
		fi
		stop "$pid"
	done
	{
		echo "server did not start: ${*//@PORT@/$PORT}"
		echo "--- last lines of $log:"
		tail -20 "$log"
	} >&2
	return 1
}

# wait_port PID PORT: waits until PORT of 127.0.0.1 accepts connections
# (returns 0) or PID has died or 10 s have passed (returns 1).
wait_port() {
	local _
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || return 1
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# stop PID: stops a process and waits for it; never fails.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# install_missing COMMAND:PACKAGE...: installs with apt-get (Debian, as root)
# the PACKAGE of every COMMAND not on PATH, so that a fresh machine can run
# the script. Returns 1, with the packages in MISSING, when it cannot.
install_missing() {
	local pair need=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
	done
	((${#need[@]})) || return 0
	MISSING=${need[*]}
	[ "$(id -u)" = 0 ] || return 1
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# The result lines of the check scripts: ok NAME, bad NAME WHY, and
# expect NAME ACTUAL WANT; they count into PASSED and FAILED.
PASSED=0
FAILED=0
ok() { echo "ok   $1"; PASSED=$((PASSED + 1)); }
bad() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
