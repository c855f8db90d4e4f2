#!/usr/bin/env bash
# bench_soak.sh - 10 million packets through the host template, RSS sampled.
#   UMPA=build/umpa bash tests/bench/bench_soak.sh [N] [SECONDS]   (default N = 10,000,000; sample every 2 s)
# Writes an input capture of at least N packets (tests/bench/soak_input.sh: ARP, ICMP and
# ICMPv6 echo requests, UDP to a closed port and TCP SYNs to an open one, 65,536 simulated
# hosts of 10.99.0.0/16), runs `umpa run host --set ip=10.99.0.0/16 --set ip6=fd00:99::1
# --set tcp=22:open --offline IN` (ARP, echo, port unreachable, tcp.listen), and
# samples the process's CPU time and VmRSS every SECONDS.  Prints every sample, then RSS
# at the end of warm-up (the first 10 % of the CPU time) and its growth after it, the
# counters that show the packets went through, and packets per CPU-second.
# Offline: no namespaces, no root.  Bounded: the run has a timeout (4 h).
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
UMPA=${UMPA:-$top_srcdir/build/umpa}
N=${1:-10000000}
EVERY=${2:-2}
export UMPA_TEMPLATE_PATH=$top_srcdir/templates
. "$top_srcdir/tests/tmpdir.sh"
. "$top_srcdir/tests/bench/soak_input.sh"
T=$(umpa_tmpdir bsoak) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT

n=$(soak_input "$UMPA" "$T/in.pcap" "$N") || {
	echo "cannot write the input"
	exit 1
}
echo "input: $n packets, $(($(stat -c %s "$T/in.pcap") / 1048576)) MiB"
CLK=$(getconf CLK_TCK)
timeout 14400 "$UMPA" run host --offline "$T/in.pcap" --set ip=10.99.0.0/16 --set ip6=fd00:99::1 --set tcp=22:open --json \
	>"$T/out.json" 2>"$T/err" &
TP=$!
for _ in $(seq 50); do # umpa, timeout's child (bounded: 5 s)
	P=$(pgrep -P $TP) && break
	sleep 0.1
done
echo "sample  wall_s  cpu_s    VmRSS_KiB"
i=0
start=$(date +%s)
while kill -0 $TP 2>/dev/null; do
	if [ -r /proc/$P/stat ]; then
		cpu=$(awk -v c="$CLK" '{ printf "%.1f", ($14 + $15) / c }' /proc/$P/stat 2>/dev/null)
		rss=$(awk '/^VmRSS/ { print $2 }' /proc/$P/status 2>/dev/null)
		[ -n "$rss" ] && printf '%6d  %6d  %7s  %9s\n' $i $(($(date +%s) - start)) "$cpu" "$rss" | tee -a "$T/samples"
	fi
	i=$((i + 1))
	sleep "$EVERY"
done
wait $TP
rc=$?
total=$(awk 'END { print $3 }' "$T/samples")
rx=$(sed -n 's/.*"rx":\([0-9]*\).*/\1/p' "$T/out.json")
echo "exit $rc; counters: rx $rx, tx $(sed -n 's/.*"tx":\([0-9]*\).*/\1/p' "$T/out.json"), errors $(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' "$T/out.json"), hosts $(sed -n 's/.*"hosts":\([0-9]*\).*/\1/p' "$T/out.json")"
awk -v total="$total" -v rx="$rx" '
	$3 >= total * 0.1 && !w { w = $4; ws = $1 }
	{ if (w) { if ($4 > max) max = $4; if (min == "" || $4 < min) min = $4 } last = $4 }
	END {
		printf "RSS after warm-up (sample %d, 10%% of %.1f CPU-s): %d KiB; after it: min %d, max %d, last %d KiB (growth %d KiB)\n",
			ws, total, w, min, max, last, max - w
		if (total > 0) printf "%.0f packets per CPU-second (last sample %.1f CPU-s)\n", rx / total, total
	}' "$T/samples"
