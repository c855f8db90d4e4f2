#!/usr/bin/env bash
# bench_replay.sh - umpa replay against tcpreplay, and checked exchanges per second.
#
# On a veth pair between two namespaces (umpa and tcpreplay in A, the kernel
# in B), in the same run:
#  1. --topspeed: the same file of N 60-byte UDP frames, umpa replay
#     --topspeed --no-check vs tcpreplay --topspeed -K (file preloaded into
#     memory); rate by the receiving veth's rx counter over wall time, and
#     each tool's own figure.
#  2. --pps accuracy: P packets at RATE pps, umpa replay --pps vs tcpreplay
#     --pps: requested vs achieved (each tool's report, and the receiver's
#     capture: first to last arrival), and the gap jitter (standard deviation
#     of the inter-arrival gaps in B's capture).
#  3. checked exchanges per second: a capture of X exchanges (ICMP echo and
#     DNS queries to a port nobody listens on, answered by B's kernel with
#     echo replies and port unreachables; B's ICMP rate limits lifted) is
#     recorded once, then replayed at --topspeed with every answer matched
#     and compared field by field: exchanges / wall time, and the number of
#     differing/missing exchanges (goal: 0 false differences).
# Benchmarks are not tests: nothing fails for being slow.  Needs root.
#   UMPA=path/to/umpa  N (default 1000000)  P (default 20000)  RATE (default 10000)
#   X (exchanges, default 100000)  CPU (core, default 0)
set -uo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
UMPA=${UMPA:-$top_srcdir/build/umpa}
N=${N:-1000000}
P=${P:-20000}
RATE=${RATE:-10000}
X=${X:-100000}
CPU=${CPU:-0}
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools tcpreplay tcpdump taskset python3
netns_pair brep || exit 1
T=$(mktemp -d /tmp/umpa-bench-replay.XXXXXX)
trap 'netns_cleanup; rm -rf "$T"' EXIT
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

rx() { ip netns exec "$NS_B" cat /sys/class/net/$IF_B/statistics/rx_packets; }
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# timed NAME CMD...: run CMD in A on core $CPU; sets WALL and RX (frames B counted)
timed() {
	local name=$1 r0 r1 t0 t1
	shift
	r0=$(rx)
	t0=$(now)
	ip netns exec "$NS_A" taskset -c "$CPU" "$@" >"$T/$name.out" 2>&1
	t1=$(now)
	sleep 0.2
	r1=$(rx)
	RX=$((r1 - r0))
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# gaps FILE: achieved pps (first to last arrival) and the gap standard deviation (us) of a capture
gaps() {
	python3 - "$1" <<'EOF'
import struct, sys, statistics
d = open(sys.argv[1], 'rb').read()
magic = struct.unpack('<I', d[:4])[0]
ns = magic == 0xa1b23c4d
off, ts = 24, []
while off + 16 <= len(d):
    s, f, cl, _ = struct.unpack('<IIII', d[off:off + 16])
    ts.append(s + f / (1e9 if ns else 1e6))
    off += 16 + cl
g = [b - a for a, b in zip(ts, ts[1:])]
if len(g) < 2:
    print("n/a n/a")
else:
    print("%.0f %.1f" % (len(g) / (ts[-1] - ts[0]), statistics.pstdev(g) * 1e6))
EOF
}

echo "== 1. --topspeed: $N UDP frames, umpa replay vs tcpreplay --topspeed -K =="
"$UMPA" build 'ether{src="02:00:00:00:00:01", dst="02:00:00:00:00:99"}/ip{src="10.77.0.1", dst="10.77.0.2"}/udp{sport=5000, dport=9}/"ABCDEFGHIJKLMNOPQR"' \
	-c "$N" -w "$T/udp.pcap" >/dev/null || exit 1
timed umpa "$UMPA" replay "$T/udp.pcap" -i "$IF_A" --topspeed --no-check
U_PPS=$(awk -v n="$RX" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')
U_OWN=$(sed -n 's/^rate: unpaced, achieved \([0-9.e+]*\) pps.*/\1/p' "$T/umpa.out")
echo "umpa replay:  $RX frames arrived in $WALL s: $U_PPS pps (its own report: $U_OWN pps, load included in wall time)"
timed tcpreplay tcpreplay --topspeed -K -i "$IF_A" "$T/udp.pcap"
R_PPS=$(awk -v n="$RX" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')
R_OWN=$(sed -n 's/.*Rated: .* \([0-9.]*\) pps.*/\1/p' "$T/tcpreplay.out" | head -1)
echo "tcpreplay:    $RX frames arrived in $WALL s: $R_PPS pps (its own report: $R_OWN pps, preload included in wall time)"
echo "ratio umpa/tcpreplay (arrived per wall second): $(ratio "$U_PPS" "$R_PPS")  (own reports: $(ratio "$U_OWN" "$R_OWN"))"

echo
echo "== 2. --pps $RATE: $P frames, requested vs achieved, gap jitter at the receiver =="
"$UMPA" build 'ether{src="02:00:00:00:00:01", dst="02:00:00:00:00:99"}/ip{src="10.77.0.1", dst="10.77.0.2"}/udp{sport=5000, dport=9}/"ABCDEFGHIJKLMNOPQR"' \
	-c "$P" -w "$T/udp_p.pcap" >/dev/null || exit 1
for tool in umpa tcpreplay; do
	ip netns exec "$NS_B" timeout 120 tcpdump -Z root --immediate-mode -B 65536 -i "$IF_B" -w "$T/rx_$tool.pcap" \
		-c "$P" udp port 9 >/dev/null 2>"$T/td.err" &
	TD=$!
	for _ in $(seq 100); do grep -q listening "$T/td.err" && break; sleep 0.05; done
	if [ $tool = umpa ]; then
		timed pps_umpa "$UMPA" replay "$T/udp_p.pcap" -i "$IF_A" --pps "$RATE" --no-check
		OWN=$(sed -n 's/^rate: .*achieved \([0-9.e+]*\) pps.*/\1/p' "$T/pps_umpa.out")
	else
		timed pps_tcpreplay tcpreplay --pps "$RATE" -i "$IF_A" "$T/udp_p.pcap"
		OWN=$(sed -n 's/.*Rated: .* \([0-9.]*\) pps.*/\1/p' "$T/pps_tcpreplay.out" | head -1)
	fi
	sleep 0.3
	kill "$TD" 2>/dev/null
	wait "$TD" 2>/dev/null
	read -r ACH JIT <<<"$(gaps "$T/rx_$tool.pcap")"
	echo "$tool: requested $RATE pps; its report $OWN pps; at the receiver $ACH pps, gap jitter (stddev) $JIT us"
done

echo
echo "== 3. checked exchanges per second: $X exchanges (ICMP echo, DNS to a closed port) against B's kernel =="
ip netns exec "$NS_B" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=10000000 net.ipv4.icmp_msgs_burst=10000000
H=$((X / 2))
MA=$(ip -n "$NS_A" -br link show "$IF_A" | awk '{print $3}')
MB=$(ip -n "$NS_B" -br link show "$IF_B" | awk '{print $3}')
E="ether{src=\"$MA\", dst=\"$MB\"}/ip{src=\"10.77.0.1\", dst=\"10.77.0.2\"}"
"$UMPA" build "$E/icmp{id=7, seq=range(1, $H)}/\"0123456789abcdef\"" -w "$T/icmp_q.pcap" --max 10000000 >/dev/null || exit 1
"$UMPA" build "$E/udp{sport=range(10000, 10000 + $H - 1), dport=5353}/dns{qd=\"www.test\"}" \
	-w "$T/dns_q.pcap" --max 10000000 >/dev/null || exit 1
# interleaved: one ICMP, one DNS
mergecap -w "$T/q.pcap" "$T/icmp_q.pcap" "$T/dns_q.pcap" 2>/dev/null || exit 1
# record: the requests at 20,000 pps, both directions captured in A
ip netns exec "$NS_A" timeout 300 tcpdump -Z root --immediate-mode -B 262144 -i "$IF_A" -w "$T/rec.pcap" \
	'icmp or udp port 5353' >/dev/null 2>"$T/td.err" &
TD=$!
for _ in $(seq 100); do grep -q listening "$T/td.err" && break; sleep 0.05; done
ip netns exec "$NS_A" "$UMPA" replay "$T/q.pcap" -i "$IF_A" --no-check --pps 20000 >/dev/null 2>&1 ||
	echo "(recording: umpa replay failed)"
sleep 1
kill "$TD" 2>/dev/null
wait "$TD" 2>/dev/null
grep 'captured\|dropped' "$T/td.err" | tr '\n' ' '
echo
ip netns exec "$NS_A" bash -c 'TIMEFORMAT="%3U %3S"; { time "$@" >"$0.out" 2>&1; } 2>"$0.time"' "$T/cpu" \
	"$UMPA" replay "$T/rec.pcap" -i "$IF_A" --topspeed --json
CPUS=$(awk '{ printf "%.3f", $1 + $2 }' "$T/cpu.time")
timed check "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --topspeed --json
tail -1 "$T/check.out" | grep summary >"$T/sum.json"
EXCH=$(sed -n 's/.*"exchanges":\([0-9]*\).*/\1/p' "$T/sum.json")
echo "summary: $(cat "$T/sum.json")"
RUN=$(sed -n 's/.*"elapsed_s":\([0-9.]*\).*/\1/p' "$T/sum.json")
echo "checked: ${EXCH:-0} exchanges in $WALL s wall (load, send, match, compare, report): $(awk -v n="${EXCH:-0}" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }') exchanges/s"
echo "         run alone (first send to the last exchange settled): ${RUN:-?} s: $(awk -v n="${EXCH:-0}" -v w="${RUN:-0}" 'BEGIN { if (w > 0) printf "%.0f", n / w; else print "?" }') exchanges/s"
echo "         CPU time of the whole process (user + system, a run before this one): $CPUS s: $(awk -v n="${EXCH:-0}" -v w="${CPUS:-0}" 'BEGIN { if (w > 0) printf "%.0f", n / w; else print "?" }') exchanges per CPU-second"
