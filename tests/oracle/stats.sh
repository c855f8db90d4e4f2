#!/usr/bin/env bash
# stats.sh - `umpa show --stats conv|proto|io,1` against tshark's -z conv,*, -z io,phs
# and -z io,stat,1 on real captures of the shared corpus (tests/oracle/stats.py
# compares).  Exit 77 without tshark, python3 or the corpus.
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
for t in tshark python3; do
	command -v $t >/dev/null 2>&1 || { echo "stats: $t missing: skipped"; exit 77; }
done
# TCP over IPv4 with ARP (BGP sessions, 21 s); UDP and ICMPv6 over IPv6 on a Linux cooked capture
set -- "$CORPUS/bgp-4byte-asn.pcap" "$CORPUS/babel.pcap"
for f; do [ -r "$f" ] || { echo "stats: no $f: skipped"; exit 77; }; done
exec timeout 300 python3 "$top_srcdir/tests/oracle/stats.py" "$UMPA" "$@"
