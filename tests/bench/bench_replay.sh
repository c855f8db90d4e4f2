#!/usr/bin/env bash
# bench_replay.sh - umpa replay against tcpreplay, and checked exchanges per second.
#
# On a veth pair between two namespaces (umpa and tcpreplay in A, the kernel
# in B), in the same run:
#  1. --topspeed: the same file of N 60-byte UDP frames, umpa replay
#     --topspeed --no-check vs tcpreplay --topspeed -K (file preloaded into
#     memory); rate by the receiving veth's rx counter over wall time, and
#     each tool's own figure.  umpa also runs with --qdisc-bypass
#     (PACKET_QDISC_BYPASS, opt-in) as "umpa-byp": tcpreplay has no such
#     option, so that row is umpa's best path, not the like-for-like one.
#  2. --pps accuracy: P packets at RATE pps, umpa replay --pps vs tcpreplay
#     --pps: requested vs achieved (each tool's report, and the receiver's
#     capture: first to last arrival), and the gap jitter (standard deviation
#     of the inter-arrival gaps in B's capture).
#  3. checked exchanges per second: a capture of X exchanges (ICMP echo and
#     DNS queries to a port nobody listens on, answered by B's kernel with
#     echo replies and port unreachables; B's ICMP rate limits lifted) is
#     recorded once (again, slower, if tcpdump dropped frames: a lost answer
#     would be a false "unexpected"), then replayed at --topspeed with every
#     answer matched and compared field by field: exchanges / wall time of the
#     whole process and first send to last settled, per CPU-second, and the
#     verdict counts (goal: 0 false differences).
# Parts 1 and 3 run ROUNDS times, the tools alternating, and print each
# round, the best round of each and the CPU time (user + system) of each
# process: on a shared machine the wall time mostly says how busy it was.
# UMPA_BEFORE=path/to/an/older/umpa runs that one too in the same rounds
# (before/after figures from one run).
# Benchmarks are not tests: nothing fails for being slow.  Needs root.
#   UMPA=path/to/umpa  N (default 1000000)  P (default 20000)  RATE (default 10000)
#   X (exchanges, default 100000)  CPU (core, default 0)  ROUNDS (default 3)
#   UMPA_BEFORE (optional)
set -uo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
UMPA=${UMPA:-$top_srcdir/build/umpa}
N=${N:-1000000}
P=${P:-20000}
RATE=${RATE:-10000}
X=${X:-100000}
CPU=${CPU:-0}
ROUNDS=${ROUNDS:-3}
UMPA_BEFORE=${UMPA_BEFORE:-}
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

# timed NAME CMD...: run CMD in A on core $CPU; sets WALL, CPUS (user + system
# seconds of the process) and RX (frames B counted)
timed() {
	local name=$1 r0 r1 t0 t1
	shift
	r0=$(rx)
	t0=$(now)
	ip netns exec "$NS_A" taskset -c "$CPU" bash -c 'TIMEFORMAT="%3U %3S"; { time "$@" >"$0.out" 2>&1; } 2>"$0.time"' \
		"$T/$name" "$@"
	t1=$(now)
	sleep 0.2
	r1=$(rx)
	RX=$((r1 - r0))
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
	CPUS=$(awk '{ printf "%.3f", $1 + $2 }' "$T/$name.time")
}
# best LIST: the largest of the numbers
best() { tr ' ' '\n' <<<"$*" | grep -v '^$' | sort -g | tail -1; }

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

echo "machine: $(nproc) cores, $(uname -r), $(date -u '+%F %H:%M'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. --topspeed: $N UDP frames, umpa replay vs tcpreplay --topspeed -K, $ROUNDS rounds =="
"$UMPA" build 'ether{src="02:00:00:00:00:01", dst="02:00:00:00:00:99"}/ip{src="10.77.0.1", dst="10.77.0.2"}/udp{sport=5000, dport=9}/"ABCDEFGHIJKLMNOPQR"' \
	-c "$N" -w "$T/udp.pcap" >/dev/null || exit 1
TOOLS="umpa umpa-byp tcpreplay"
[ -n "$UMPA_BEFORE" ] && TOOLS="umpa umpa-byp before tcpreplay"
declare -A T_PPS T_CPP T_OWN
for round in $(seq "$ROUNDS"); do
	for tool in $TOOLS; do
		case $tool in
		umpa | umpa-byp | before)
			bin=$UMPA
			[ $tool = before ] && bin=$UMPA_BEFORE
			byp=()
			[ $tool = umpa-byp ] && byp=(--qdisc-bypass)
			timed "$tool" "$bin" replay "$T/udp.pcap" -i "$IF_A" --topspeed --no-check "${byp[@]}"
			own=$(sed -n 's/^rate: unpaced, achieved \([0-9.e+]*\) pps.*/\1/p' "$T/$tool.out")
			;;
		tcpreplay)
			timed tcpreplay tcpreplay --topspeed -K -i "$IF_A" "$T/udp.pcap"
			own=$(sed -n 's/.*Rated: .* \([0-9.]*\) pps.*/\1/p' "$T/tcpreplay.out" | head -1)
			;;
		esac
		pps=$(awk -v n="$RX" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')
		cpp=$(awk -v n="$RX" -v c="$CPUS" 'BEGIN { if (c > 0) printf "%.0f", n / c; else print 0 }')
		T_PPS[$tool]+=" $pps"
		T_CPP[$tool]+=" $cpp"
		T_OWN[$tool]+=" ${own:-0}"
		printf '%-10s round %d: %d frames arrived in %s s: %s pps; %s s CPU: %s frames/CPU-s (own report: %s pps)\n' \
			"$tool" "$round" "$RX" "$WALL" "$pps" "$CPUS" "$cpp" "${own:-?}"
	done
done
for tool in $TOOLS; do
	printf '%-10s best: %s pps by the receiver over wall time (load included), %s frames/CPU-s, own report %s pps\n' \
		"$tool" "$(best ${T_PPS[$tool]})" "$(best ${T_CPP[$tool]})" "$(best ${T_OWN[$tool]})"
done
for tool in ${TOOLS% tcpreplay}; do
	[ $tool = umpa-byp ] && echo "(umpa-byp: umpa with --qdisc-bypass; tcpreplay has no such option)"
	echo "ratio $tool/tcpreplay, best rounds: wall $(ratio "$(best ${T_PPS[$tool]})" "$(best ${T_PPS[tcpreplay]})")," \
		"per CPU-second $(ratio "$(best ${T_CPP[$tool]})" "$(best ${T_CPP[tcpreplay]})")," \
		"own reports $(ratio "$(best ${T_OWN[$tool]})" "$(best ${T_OWN[tcpreplay]})")"
done

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
# record: the requests, both directions captured in A; a recording that lost
# frames (tcpdump's drops on a busy machine) would make answers "unexpected":
# recorded again, slower, up to three times
for pps in 20000 10000 5000; do
	ip netns exec "$NS_A" timeout 300 tcpdump -Z root --immediate-mode -B 262144 -i "$IF_A" -w "$T/rec.pcap" \
		'icmp or udp port 5353' >/dev/null 2>"$T/td.err" &
	TD=$!
	for _ in $(seq 100); do grep -q listening "$T/td.err" && break; sleep 0.05; done
	ip netns exec "$NS_A" "$UMPA" replay "$T/q.pcap" -i "$IF_A" --no-check --pps $pps >/dev/null 2>&1 ||
		echo "(recording: umpa replay failed)"
	sleep 1
	kill "$TD" 2>/dev/null
	wait "$TD" 2>/dev/null
	GOT=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$T/td.err")
	DROP=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$T/td.err")
	echo "recording at $pps pps: ${GOT:-?} packets captured, ${DROP:-?} dropped by the kernel (want $((2 * X)), 0)"
	[ "${GOT:-0}" = $((2 * X)) ] && [ "${DROP:-1}" = 0 ] && break
done
CTOOLS="umpa"
[ -n "$UMPA_BEFORE" ] && CTOOLS="umpa before"
declare -A CW CR CC
for round in $(seq "$ROUNDS"); do
	for tool in $CTOOLS; do
		bin=$UMPA
		[ $tool = before ] && bin=$UMPA_BEFORE
		timed "check_$tool" "$bin" replay "$T/rec.pcap" -i "$IF_A" --topspeed --json
		tail -1 "$T/check_$tool.out" | grep summary >"$T/sum.json"
		EXCH=$(sed -n 's/.*"exchanges":\([0-9]*\).*/\1/p' "$T/sum.json")
		RUN=$(sed -n 's/.*"elapsed_s":\([0-9.]*\).*/\1/p' "$T/sum.json")
		VER=$(sed -n 's/.*\("matched":[0-9]*,"differing":[0-9]*,"missing":[0-9]*,"unexpected":[0-9]*\).*/\1/p' "$T/sum.json")
		w=$(awk -v n="${EXCH:-0}" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')
		r=$(awk -v n="${EXCH:-0}" -v w="${RUN:-0}" 'BEGIN { if (w > 0) printf "%.0f", n / w; else print 0 }')
		c=$(awk -v n="${EXCH:-0}" -v w="$CPUS" 'BEGIN { if (w > 0) printf "%.0f", n / w; else print 0 }')
		CW[$tool]+=" $w"
		CR[$tool]+=" $r"
		CC[$tool]+=" $c"
		printf '%-7s round %d: %s exchanges (%s); whole process %s s wall: %s/s; first send to last settled %s s: %s/s; %s s CPU: %s per CPU-s\n' \
			"$tool" "$round" "${EXCH:-0}" "${VER:-no summary}" "$WALL" "$w" "${RUN:-?}" "$r" "$CPUS" "$c"
	done
done
for tool in $CTOOLS; do
	printf '%-7s best: %s exchanges/s whole process (load, send, match, compare, report), %s/s first send to last settled, %s per CPU-second\n' \
		"$tool" "$(best ${CW[$tool]})" "$(best ${CR[$tool]})" "$(best ${CC[$tool]})"
done
[ -n "$UMPA_BEFORE" ] && echo "ratio umpa/before, best rounds: whole process $(ratio "$(best ${CW[umpa]})" "$(best ${CW[before]})"), per CPU-second $(ratio "$(best ${CC[umpa]})" "$(best ${CC[before]})")"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
