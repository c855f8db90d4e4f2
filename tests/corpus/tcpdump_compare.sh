#!/usr/bin/env bash
# tcpdump_compare.sh - umpa's one-line output against `TZ=UTC tcpdump -nn -r` over
# the shared corpus: every Ethernet IPv4/IPv6/ARP packet's `umpa show` line must
# equal tcpdump's, or be listed with its reason in tests/corpus/tcpdump_diffs.txt.
# A new difference fails (tests/corpus/tcpdump_compare.py explains the categories;
# after a deliberate improvement run it with --update and review the diff).
# Prints how many lines are identical.  Exit status: 0 no new difference, 1 new
# differences, 77 no corpus, tcpdump or python3.
# Environment: UMPA (default $top_builddir/umpa), top_srcdir, top_builddir,
# UMPA_CORPUS (default $top_srcdir/../shared/corpus/tcpdump-tests), UMPA_CORPUS_JOBS.
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
[ -d "$CORPUS" ] || { echo "tcpdump_compare: no corpus at $CORPUS: skipped"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "tcpdump_compare: python3 missing: skipped"; exit 77; }
command -v tcpdump >/dev/null 2>&1 || { echo "tcpdump_compare: tcpdump missing: skipped"; exit 77; }
# A libtool wrapper script costs a shell per run: run the real binary when it works.
if head -c 4096 "$UMPA" 2>/dev/null | grep -q 'libtool'; then
	"$UMPA" --version >/dev/null 2>&1
	d=$(cd "$(dirname "$UMPA")/.libs" 2>/dev/null && pwd)
	for real in "$d/lt-$(basename "$UMPA")" "$d/$(basename "$UMPA")"; do
		if [ -n "$d" ] && [ -x "$real" ] &&
			LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$real" --version >/dev/null 2>&1; then
			export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
			UMPA=$real
			break
		fi
	done
fi
exec timeout 300 python3 "$top_srcdir/tests/corpus/tcpdump_compare.py" "$UMPA" "$CORPUS" \
	"$top_srcdir/tests/corpus/tcpdump_diffs.txt"
