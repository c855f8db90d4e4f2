#!/usr/bin/env bash
# soak_lsan.sh - N packets offline through a responder template under LeakSanitizer: 0 leaks.
#   bash tests/bench/soak_lsan.sh ASAN_UMPA [N]        (default N = 1,000,000)
# ASAN_UMPA is an umpa built with --enable-sanitizers (build-asan/umpa).  Writes an input
# of at least N packets (whole sets) (tests/bench/soak_input.sh), runs `umpa run host --set
# ip=10.99.0.0/16 --set ip6=fd00:99::1 --set tcp=22:open --offline IN -w OUT.pcapng --json`
# with detect_leaks=1, and checks: exit 0, no AddressSanitizer, LeakSanitizer or UBSan
# report, every packet counted and answered once (ARP, ICMP and ICMPv6 echo, ICMP port
# unreachable, SYN+ACK from tcp.listen), the output holds them all.  Prints
# "0 leaks" and the figures, or what went wrong; exit 0 / 1.  tests/cli/soak.sh runs it
# with N = 20,000 on the binary under test (the ASan one in tests/run.sh's ASan phase).
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
UMPA=${1:?usage: soak_lsan.sh ASAN_UMPA [N]}
N=${2:-1000000}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
export UMPA_TEMPLATE_PATH=$top_srcdir/templates
. "$top_srcdir/tests/tmpdir.sh"
. "$top_srcdir/tests/bench/soak_input.sh"
T=$(umpa_tmpdir soak) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT

n=$(soak_input "$UMPA" "$T/in.pcap" "$N") || exit 1
start=$(date +%s%N)
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	timeout 7200 "$UMPA" run host --offline "$T/in.pcap" --set ip=10.99.0.0/16 --set ip6=fd00:99::1 \
	--set tcp=22:open -w "$T/out.pcapng" --json >"$T/out.json" 2>"$T/err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
get() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/out.json"; }
rx=$(get rx)
tx=$(get tx)
bad=0
if [ $rc -ne 0 ]; then
	echo "FAIL: exit $rc"
	bad=1
fi
if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error:' "$T/err"; then
	echo "FAIL: sanitizer report:"
	head -40 "$T/err"
	bad=1
fi
if [ "${rx:-0}" -ne "$n" ] || [ "$(get errors)" != 0 ]; then
	echo "FAIL: rx ${rx:-?} of $n packets, errors $(get errors)"
	bad=1
fi
# every packet is asked something host answers once (whole sets, soak_input.sh); on a long
# input the virtual clock runs past tcp.listen's retransmission timer, so each half-open
# handshake may add SYN+ACK retransmissions (at most 3 each, one per counted tcp.syn)
synack=$("$UMPA" show -r "$T/out.pcapng" 'tcp[13] == 0x12' 2>/dev/null | wc -l)
syn=$("$UMPA" show -r "$T/in.pcap" 'tcp[13] == 0x02' 2>/dev/null | wc -l)
rexmit=$((synack - syn))
want_tx=$((n + rexmit))
if [ "$syn" -eq 0 ] || [ "$rexmit" -lt 0 ] || [ "$rexmit" -gt $((3 * $(get tcp.syn))) ] ||
	[ "${tx:-0}" -ne "$want_tx" ]; then
	echo "FAIL: tx ${tx:-?}, want $want_tx ($n answers and $rexmit SYN+ACK retransmissions; $syn SYNs in, $synack SYN+ACKs out)"
	bad=1
fi
frames=$(capinfos -Mc "$T/out.pcapng" 2>/dev/null | awk '/Number of packets/ { print $NF }')
if [ "${frames:-0}" -ne $((n + ${tx:-0})) ]; then
	echo "FAIL: the output holds ${frames:-?} frames, want $((n + ${tx:-0}))"
	bad=1
fi
echo "$n packets in, ${tx:-?} out (${rexmit} SYN+ACK retransmissions), $(get hosts) hosts, ${ms} ms wall; LeakSanitizer: $([ $bad -eq 0 ] && echo '0 leaks' || echo 'see above')"
exit $bad
