#!/usr/bin/env bash
# bench_send.sh - send rate of 60-byte UDP frames, one field changing per packet:
# umpa send vs trafgen (netsniff-ng) vs tcpreplay --topspeed, on a veth pair
# between two namespaces, every sender pinned to one core (taskset).
#
# The fair pairs take the same kernel path: trafgen bypasses the qdisc by
# default (PACKET_QDISC_BYPASS) and goes through it with -q/--qdisc-path;
# umpa goes through it by default and bypasses it with --qdisc-bypass.  Both
# pairs are run and reported.  (A veth has no queue - noqueue - so the two
# paths cost about the same here; on a NIC with a qdisc they differ more.)
#
# Each sender's own report is printed, and the receiving veth's rx counter
# counts what arrived (the frames carry a destination MAC nobody owns, so
# the receiving kernel drops them at once: the work measured is the sender's).
# Benchmarks are not tests: nothing fails for being slow.  Needs root.
#   UMPA=path/to/umpa  N (packets per sender, default 1000000)  CPU (core, default 0)
set -uo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
UMPA=${UMPA:-$top_srcdir/build/umpa}
N=${N:-1000000}
CPU=${CPU:-0}
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
for t in trafgen tcpreplay taskset; do
	command -v $t >/dev/null || {
		echo "SKIP: $t is missing (tests/deps.sh installs netsniff-ng tcpreplay util-linux)"
		exit 77
	}
done
netns_pair bsend || exit 1
T=$(mktemp -d /tmp/umpa-bench-send.XXXXXX)
trap 'netns_cleanup; rm -rf "$T"' EXIT
# no IPv6 chatter (router solicitations, MLD) on the link while counting
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

DMAC=02:00:00:00:00:99 # nobody's: B drops the frames as soon as they arrive
PAY=ABCDEFGHIJKLMNOPQR # 14 + 20 + 8 + 18 = 60 bytes
rx() { ip netns exec "$NS_B" cat /sys/class/net/$IF_B/statistics/rx_packets; }
now() { date +%s.%N; }
pps() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# run NAME CMD...: one sender in A on core $CPU.  Sets WALL (s), RX (frames the
# receiver counted) and OWN (the sender's own pps figure, from its report).
run() {
	local name=$1 r0 r1 t0 t1
	shift
	r0=$(rx)
	t0=$(now)
	# bash's time: user and system seconds of the sender alone, to the
	# millisecond (/usr/bin/time prints hundredths: a 1.7% step at 0.6 s)
	ip netns exec "$NS_A" taskset -c "$CPU" bash -c \
		'TIMEFORMAT="%3U %3S"; { time "$@" >"$0.out" 2>&1; } 2>"$0.time"' "$T/$name" "$@"
	t1=$(now)
	sleep 0.2
	r1=$(rx)
	RX=$((r1 - r0))
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
	case $name in
	umpa*) OWN=$(sed -n 's/^sent .*: \([0-9]*\) pps.*/\1/p' "$T/$name.out") ;;
	trafgen*) OWN=$(tr -d '\r' <"$T/$name.out" |
		awk '/usec on CPU/ { s = $1 + $3 / 1e6 } /packets outgoing/ { n = $1 } END { if (s > 0) printf "%.0f", n / s }') ;;
	tcpreplay) OWN=$(sed -n 's/.*Rated: .* \([0-9.]*\) pps.*/\1/p' "$T/$name.out" | head -1) ;;
	esac
	OWN=${OWN:-0}
	# packets per CPU-second of the sender (user + system time): the per-core
	# figure, steadier than wall time on a shared machine
	CPUPPS=$(awk -v n="$RX" '{ t = $1 + $2 } END { if (t > 0) printf "%.0f", n / t; else print 0 }' "$T/$name.time")
}

# best NAME CMD...: $R runs, keeps the fastest by the receiver's count over wall time
best() {
	local name=$1 i p
	shift
	BEST_RX=0
	BEST_OWN=0
	BEST_CPU=0
	for i in $(seq "$R"); do
		run "$name" "$@"
		p=$(pps "$RX" 0 "$WALL")
		printf '   %-10s run %d: %d frames arrived in %s s wall = %s pps; own report %s pps; %s pps per CPU-second\n' \
			"$name" "$i" "$RX" "$WALL" "$p" "$OWN" "$CPUPPS"
		[ "$RX" -ne "$N" ] && echo "   note: $name delivered $RX of $N frames"
		if [ "$p" -gt "$BEST_RX" ]; then
			BEST_RX=$p
			BEST_OWN=$OWN
		fi
		[ "$CPUPPS" -gt "$BEST_CPU" ] && BEST_CPU=$CPUPPS
	done
	echo "   $name: $(tr -d '\r' <"$T/$name.out" | grep -v '^[[:space:]]*$' | tail -1 | sed 's/^[[:space:]]*//')"
}

# The umpa under test: the real binary, not libtool's wrapper script (whose
# start-up is about 0.5 s of shell here, before a single packet).
UMPA_BIN=$UMPA
if [ -x "$(dirname "$UMPA")/.libs/umpa" ] && head -c 2 "$UMPA" | grep -q '#!'; then
	export LD_LIBRARY_PATH="$(cd "$(dirname "$UMPA")" && pwd)/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	UMPA_BIN="$(dirname "$UMPA")/.libs/umpa"
fi
R=${R:-3}

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$N frames of 60 bytes per run, each sender pinned to core $CPU, best of $R runs"
echo "frame: ether/ipv4 $IP_A > $IP_B/udp sport incrementing, dport 9/18 bytes"
echo

K=$(((N + 49999) / 50000))
cat >"$T/udp.cfg" <<EOF
{ eth(da=$DMAC, sa=$MAC_A, type=0x0800),
  ipv4(saddr=$IP_A, daddr=$IP_B, ttl=64, id=0),
  udp(sport=dinc(1, 65535), dport=9),
  "$PAY" }
EOF
"$UMPA" build -w "$T/udp.pcap" -c "$K" \
	"ether{src=\"$MAC_A\", dst=\"$DMAC\"}/ip{src=\"$IP_A\", dst=\"$IP_B\"}/udp{sport=range(1,50000), dport=9}/\"$PAY\"" 2>/dev/null

echo "-- umpa send --inc: the field patched in one kept frame, its checksums updated (RFC 1624), for every packet"
best umpa_inc "$UMPA_BIN" send -i "$IF_A" --fast -c "$N" --inc udp.sport \
	"ether{dst=\"$DMAC\"}/ip{src=\"$IP_A\", dst=\"$IP_B\"}/udp{sport=1, dport=9}/\"$PAY\""
U=$BEST_RX U_OWN=$BEST_OWN U_CPU=$BEST_CPU
echo "-- umpa send --inc --qdisc-bypass: the same, the TX ring bypassing the qdisc (as trafgen's default)"
best umpa_incbyp "$UMPA_BIN" send -i "$IF_A" --fast -c "$N" --inc udp.sport --qdisc-bypass \
	"ether{dst=\"$DMAC\"}/ip{src=\"$IP_A\", dst=\"$IP_B\"}/udp{sport=1, dport=9}/\"$PAY\""
UB=$BEST_RX UB_OWN=$BEST_OWN UB_CPU=$BEST_CPU
echo "-- umpa send, pre-built: a range of 50000 ports, the set sent $K times"
best umpa_range "$UMPA_BIN" send -i "$IF_A" --fast -c "$K" \
	"ether{dst=\"$DMAC\"}/ip{src=\"$IP_A\", dst=\"$IP_B\"}/udp{sport=range(1,50000), dport=9}/\"$PAY\""
UR=$BEST_RX UR_OWN=$BEST_OWN UR_CPU=$BEST_CPU
echo "-- trafgen: the same frame, sport by dinc() (trafgen keeps the checksums right), one process"
best trafgen trafgen --dev "$IF_A" --conf "$T/udp.cfg" --cpus 1 -n "$N" --no-sock-mem
G=$BEST_RX G_OWN=$BEST_OWN G_CPU=$BEST_CPU
echo "-- trafgen -q (--qdisc-path): the same, through the qdisc (as umpa's default)"
best trafgen_q trafgen --dev "$IF_A" --conf "$T/udp.cfg" --cpus 1 -n "$N" --no-sock-mem -q
GQ=$BEST_RX GQ_OWN=$BEST_OWN GQ_CPU=$BEST_CPU
echo "-- tcpreplay --topspeed: an equivalent pcap built by umpa build"
best tcpreplay tcpreplay --topspeed -i "$IF_A" -L "$N" "$T/udp.pcap"
P=$BEST_RX P_OWN=$BEST_OWN P_CPU=$BEST_CPU

echo
echo "best rates: receiver-counted (frames arrived / wall time incl. start-up), the sender's own report,"
echo "and frames per CPU-second of the sender (user + system time)"
printf '  umpa send --inc udp.sport (patch, checksums updated): %8s pps  (own %s, per CPU-s %s)\n' "$U" "$U_OWN" "$U_CPU"
printf '  umpa send --inc udp.sport --qdisc-bypass           : %8s pps  (own %s, per CPU-s %s)\n' "$UB" "$UB_OWN" "$UB_CPU"
printf '  umpa send range (pre-built set)                     : %8s pps  (own %s, per CPU-s %s)\n' "$UR" "$UR_OWN" "$UR_CPU"
printf '  trafgen --cpus 1 (qdisc bypassed, its default)      : %8s pps  (own %s, per CPU-s %s)\n' "$G" "$G_OWN" "$G_CPU"
printf '  trafgen --cpus 1 -q (through the qdisc)             : %8s pps  (own %s, per CPU-s %s)\n' "$GQ" "$GQ_OWN" "$GQ_CPU"
printf '  tcpreplay --topspeed                                : %8s pps  (own %s, per CPU-s %s)\n' "$P" "$P_OWN" "$P_CPU"
echo "same path, through the qdisc : umpa --inc / trafgen -q              : $(ratio "$U" "$GQ")x receiver, $(ratio "$U_OWN" "$GQ_OWN")x own, $(ratio "$U_CPU" "$GQ_CPU")x per CPU-s  (goal >= 1.0x per core)"
echo "same path, qdisc bypassed   : umpa --inc --qdisc-bypass / trafgen   : $(ratio "$UB" "$G")x receiver, $(ratio "$UB_OWN" "$G_OWN")x own, $(ratio "$UB_CPU" "$G_CPU")x per CPU-s  (goal >= 1.0x per core)"
echo "defaults (umpa qdisc, trafgen bypass): umpa --inc / trafgen         : $(ratio "$U" "$G")x receiver, $(ratio "$U_OWN" "$G_OWN")x own, $(ratio "$U_CPU" "$G_CPU")x per CPU-s"
echo "ratio umpa range / trafgen  : $(ratio "$UR" "$G")x receiver, $(ratio "$UR_OWN" "$G_OWN")x own, $(ratio "$UR_CPU" "$G_CPU")x per CPU-s"
echo "ratio umpa --inc / tcpreplay: $(ratio "$U" "$P")x receiver, $(ratio "$U_OWN" "$P_OWN")x own, $(ratio "$U_CPU" "$P_CPU")x per CPU-s  (goal >= 3x)"
