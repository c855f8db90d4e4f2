#!/usr/bin/env bash
# hostile.sh - hostile and careless Lua scripts against the sandbox's limits.
#
# Runs every tests/sandbox/hostile/*.lua as
#     umpa build -f FILE -w TMP/out.pcap
# under `timeout 120` (at most UMPA_HOSTILE_JOBS at once, default nproc) and a
# script passes when the run
#   - used at most 15 s (UMPA_HOSTILE_SECONDS) of CPU time (user + system:
#     the sandbox's limits are 5 s of CPU and 10 s of wall clock less the time
#     spent waiting for a CPU, so on a loaded machine the wall time of a run
#     may be many times its CPU time; the 120 s timeout still catches a hang),
#   - exited 1 (failed work: never a crash, a signal or a hang),
#   - wrote exactly one line on stderr, and that line matches the extended
#     regular expression on the script's first line, `-- expect: REGEX`,
#   - left no AddressSanitizer / LeakSanitizer / UBSan report.
# A script without an `-- expect:` first line fails.  Prints ok/FAILED per
# script (one line each, stderr's lines joined by '|' on a failure) and a
# count; exit 1 when any failed.
#
# Environment: UMPA (the umpa binary; default $top_builddir/umpa), UMPA_KEEP
# (tests/tmpdir.sh: keep each script's output and stderr), top_srcdir,
# top_builddir, UMPA_HOSTILE_JOBS, UMPA_HOSTILE_SECONDS, UMPA_HOSTILE_ONLY
# (a regex: run only the scripts whose name matches).
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
LIMIT=${UMPA_HOSTILE_SECONDS:-15}
DIR=$top_srcdir/tests/sandbox/hostile

# One script: hostile.sh --one FILE OUTDIR  (prints "ok: NAME" or "FAILED: NAME: why")
if [ "${1:-}" = --one ]; then
	f=$2
	name=$(basename "$f" .lua)
	w=$3/$name
	mkdir -p "$w"
	first=$(head -n 1 "$f")
	case $first in
	"-- expect: "*) re=${first#-- expect: } ;;
	*)
		echo "FAILED: $name: first line is not '-- expect: REGEX'"
		exit 0
		;;
	esac
	TIMEFORMAT='%3U %3S'
	{ time timeout -k 2 120 "$UMPA" build -f "$f" -w "$w/out.pcap" >"$w/out" 2>"$w/err"; } 2>"$w/time"
	rc=$?
	read -r u sy <"$w/time"
	ms=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%d", (u + s) * 1000 }')
	lines=$(wc -l <"$w/err")
	line=$(head -n 1 "$w/err")
	why=""
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$w/err"; then
		why="sanitizer report"
	elif [ "$rc" -ge 124 ]; then
		why="killed or timed out (exit $rc)"
	elif [ "$ms" -gt $((LIMIT * 1000)) ]; then
		why="took ${ms} ms of CPU (limit ${LIMIT} s)"
	elif [ "$rc" -ne 1 ]; then
		why="exit $rc, not 1"
	elif [ "$lines" -ne 1 ]; then
		why="$lines lines on stderr, not 1"
	elif ! printf '%s\n' "$line" | grep -qE -- "$re"; then
		why="stderr does not match /$re/"
	fi
	if [ -n "$why" ]; then
		echo "FAILED: $name: $why; stderr: $(head -c 600 "$w/err" | tr '\n' '|')"
	else
		echo "ok: $name (${ms} ms CPU): $line"
	fi
	[ -n "${UMPA_KEEP:-}" ] && [ "$UMPA_KEEP" != 0 ] || rm -rf "$w" # (tests/tmpdir.sh's UMPA_KEEP)
	exit 0
fi

if [ ! -x "$UMPA" ]; then
	echo "hostile: FAILED: no umpa binary at $UMPA"
	exit 1
fi
. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir hostile) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
JOBS=${UMPA_HOSTILE_JOBS:-$(nproc 2>/dev/null || echo 2)}
export UMPA UMPA_HOSTILE_SECONDS=$LIMIT top_srcdir

ls "$DIR"/*.lua | grep -E -- "${UMPA_HOSTILE_ONLY:-.}" >"$T/list"
n=$(wc -l <"$T/list")
if [ "$n" -eq 0 ]; then
	echo "hostile: FAILED: no scripts in $DIR"
	exit 1
fi
tr '\n' '\0' <"$T/list" | xargs -0 -I{} -P "$JOBS" bash "$0" --one {} "$T" >"$T/results" 2>&1
sort -k2 "$T/results"
pass=$(grep -c '^ok: ' "$T/results")
fail=$(grep -c '^FAILED: ' "$T/results")
if [ $((pass + fail)) -ne "$n" ]; then
	echo "FAILED: $n scripts, $((pass + fail)) results"
	fail=$((fail + 1))
fi
echo "hostile: $pass passed, $fail failed, of $n scripts"
[ "$fail" -eq 0 ]
