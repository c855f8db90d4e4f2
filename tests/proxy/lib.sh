# tests/proxy/lib.sh - the common start of the loopback proxy tests (sourced by tests/proxy/*.sh).
#   proxy_test_init NAME TOOL...  skip (exit 77) when a TOOL is missing; make the scratch
#                                 directory $T; kill the PIDS array and remove $T at exit;
#                                 fail=0, ok MESSAGE, bad MESSAGE (sets fail=1)
#   freeport                      a free TCP port on 127.0.0.1
#   wait_file FILE [TENTHS]       until FILE exists and is not empty (default 300: 30 s)
#   proxy_start NAME ARGS...      $UMPA proxy ARGS in the background (output in $T/NAME.out and
#                                 .err) until it listens: PPID_ its pid, LPORT its ports on
#                                 127.0.0.1 (an array; $LPORT is the first), HPORT its --http port;
#                                 in network namespace $PROXY_NS when that is set (tests/netns/lib.sh)
#   proxy_stop NAME               SIGTERM and wait: an exit status other than 0 is a failure;
#                                 SUMMARY its "connections:" line
# Needs top_srcdir set.

proxy_test_init() {
	local name=$1 t
	shift
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			echo "SKIP: $t is missing (tests/deps.sh installs it)"
			exit 77
		fi
	done
	. "$top_srcdir/tests/tmpdir.sh"
	T=$(umpa_tmpdir "$name") || exit 1
	PIDS=()
	trap proxy_test_cleanup EXIT
	fail=0
}
proxy_test_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	umpa_tmpdir_done "$T"
}
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fail=1
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() {
	local i
	for ((i = 0; i < ${2:-300}; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
proxy_start() {
	local name=$1 i
	shift
	# emptied first: a NAME used before must not show its old 'listening on' (and port) to the loop below
	# before the new process has opened its files
	: >"$T/$name.out"
	: >"$T/$name.err"
	${PROXY_NS:+ip netns exec "$PROXY_NS"} "$UMPA" proxy "$@" >"$T/$name.out" 2>"$T/$name.err" &
	PPID_=$!
	PIDS+=($PPID_)
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$T/$name.err" 2>/dev/null && break
		kill -0 $PPID_ 2>/dev/null || break
		sleep 0.1
	done
	mapfile -t LPORT < <(sed -n 's/.*proxy: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/$name.err")
	HPORT=$(sed -n 's/.*http: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$name.err" | head -1)
	grep -q 'listening on' "$T/$name.err" || {
		bad "$name: did not start: $(cat "$T/$name.err")"
		return 1
	}
}
proxy_stop() {
	kill -TERM $PPID_ 2>/dev/null
	wait $PPID_
	local rc=$?
	[ $rc = 0 ] || bad "$1: exit status $rc after SIGTERM: $(cat "$T/$1.err")"
	SUMMARY=$(grep 'connections:' "$T/$1.err")
}
