#!/usr/bin/env bash
# soak.sh - a small soak: 20,480 packets offline through host claiming a /16 (ARP, ICMP
# and ICMPv6 echo, UDP to a closed port, TCP SYNs to an open one; 4,096 addresses contacted),
# checked by tests/bench/soak_lsan.sh: exit 0, every packet counted and answered, the -w output
# complete, and no sanitizer report.  Under tests/run.sh's ASan phase $UMPA is the
# sanitizer build, so LeakSanitizer checks the whole run for leaks at exit.
set -uo pipefail
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $top_srcdir in /*) ;; *) top_srcdir=$(pwd)/$top_srcdir ;; esac
if ! command -v capinfos >/dev/null; then
	echo "SKIP: capinfos is missing (wireshark-common; tests/deps.sh installs it)"
	exit 77
fi
top_srcdir=$top_srcdir bash "$top_srcdir/tests/bench/soak_lsan.sh" "$UMPA" 20000
