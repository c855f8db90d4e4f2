#!/usr/bin/env bash
# bench_sr.sh - exchanges matched per second: ICMP echo to the Linux kernel
# in a peer namespace, umpa sr vs Scapy's sr() vs the kernel's own ping -f.
#
#  - umpa sr, 1,000 and 10,000 requests (id x seq ranges): the rate from its
#    first request to its last answer (--json "answer_span_us"), and the rate
#    over the whole process (Lua build, capture and injector set-up, sending,
#    matching, exit; the real binary, not the libtool wrapper, when built in
#    place); answered / lost / unmatched from its --json summary.
#  - Scapy sr() on the same 1,000-request burst (/usr/bin/python3, conf.iface
#    inside the namespace), timed around sr() minus its final timeout (in
#    Scapy's favour); how many of the burst it lost.
#  - ping -f -c N (one request in flight at a time, the kernel matching).
# Benchmarks are not tests: nothing fails for being slow.  Needs root; ~30 s.
#   UMPA=path/to/umpa
set -uo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
UMPA=${UMPA:-$top_srcdir/build/umpa}
if [ -x "$(dirname "$UMPA")/.libs/umpa" ]; then # skip the libtool wrapper's start-up
	export LD_LIBRARY_PATH="$(cd "$(dirname "$UMPA")/.libs" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	UMPA="$(dirname "$UMPA")/.libs/umpa"
fi
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
/usr/bin/python3 -c 'import scapy' 2>/dev/null || {
	echo "SKIP: Scapy is missing (python3-scapy)"
	exit 77
}
netns_pair bsr || exit 1
T=$(mktemp -d /tmp/umpa-bench-sr.XXXXXX)
trap 'netns_cleanup; rm -rf "$T"' EXIT
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
in_a ping -c 1 -W 2 "$IP_B" >/dev/null # the kernel and Scapy learn B's MAC the usual way

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { if (b > a) printf "%.0f", n / (b - a); else print 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])" "$1" "$2"; }

# umpa N: sets U_RATE (first request to last answer) U_PRATE (whole process) U_ANS U_LOST U_UNM U_SECS
umpa_run() {
	local n=$1 seqs=$(($1 / 5)) t0 t1
	t0=$(now)
	in_a timeout 60 "$UMPA" sr -q --json --filter icmp --timeout 2 -i "$IF_A" \
		"ether{}/ip{dst=\"$IP_B\"}/icmp{id=range(1,5), seq=range(1,$seqs)}" >"$T/umpa.json"
	t1=$(now)
	U_ANS=$(field "$T/umpa.json" answered)
	U_LOST=$(field "$T/umpa.json" lost)
	U_UNM=$(field "$T/umpa.json" unmatched)
	U_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	U_PRATE=$(rate "$U_ANS" "$t0" "$t1")
	U_RATE=$(rate "$U_ANS" 0 "$(awk -v u="$(field "$T/umpa.json" answer_span_us)" 'BEGIN { print u / 1e6 }')")
}

umpa_run 1000
U1_RATE=$U_RATE U1_PRATE=$U_PRATE U1_ANS=$U_ANS U1_LOST=$U_LOST U1_UNM=$U_UNM U1_SECS=$U_SECS
umpa_run 10000
U10_RATE=$U_RATE U10_PRATE=$U_PRATE U10_ANS=$U_ANS U10_LOST=$U_LOST U10_UNM=$U_UNM U10_SECS=$U_SECS

# Scapy: the same 1,000-request burst, default settings (its own socket buffer)
cat >"$T/scapy_sr.py" <<'EOF'
import sys, time
from scapy.all import conf, sr, IP, ICMP
conf.verb = 0
conf.iface = sys.argv[1]
dst, timeout = sys.argv[2], 2.0
pkts = IP(dst=dst) / ICMP(id=(1, 5), seq=(1, 200))
t0 = time.time()
ans, unans = sr(pkts, timeout=timeout, iface=sys.argv[1])
t1 = time.time()
busy = max(t1 - t0 - timeout, 1e-6)
ok = sum(1 for q, r in ans if r[ICMP].id == q[ICMP].id and r[ICMP].seq == q[ICMP].seq)
print(len(ans), len(unans), ok, "%.3f" % busy, "%.0f" % (len(ans) / busy))
EOF
read -r S_ANS S_LOST S_OK S_SECS S_RATE < <(in_a timeout 60 /usr/bin/python3 "$T/scapy_sr.py" "$IF_A" "$IP_B" 2>/dev/null || echo "0 1000 0 0 0")

# ping -f: one in flight, the kernel sends and matches
PN=10000
t0=$(now)
in_a timeout 60 ping -f -q -c "$PN" "$IP_B" >"$T/ping.txt" 2>&1
t1=$(now)
P_RECV=$(awk '/received/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^received/) print $(i - 1) }' "$T/ping.txt" | tr -d ,)
P_RECV=${P_RECV:-0}
P_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
P_RATE=$(rate "$P_RECV" "$t0" "$t1")

F='%-44s %10s %10s %9s %6s %9s %8s\n'
printf "\n$F" "ICMP echo, veth, kernel peer" "matched/s" "process/s" "answered" "lost" "unmatched" "seconds"
printf "$F" "umpa sr, 1,000 requests" "$U1_RATE" "$U1_PRATE" "$U1_ANS" "$U1_LOST" "$U1_UNM" "$U1_SECS"
printf "$F" "umpa sr, 10,000 requests" "$U10_RATE" "$U10_PRATE" "$U10_ANS" "$U10_LOST" "$U10_UNM" "$U10_SECS"
printf "$F" "Scapy sr(), 1,000 requests (in sr())" "$S_RATE" "-" "$S_ANS" "$S_LOST" "-" "$S_SECS"
printf "$F" "ping -f -c $PN" "-" "$P_RATE" "$P_RECV" "$((PN - P_RECV))" "-" "$P_SECS"
echo
echo "matched/s: umpa from its first request to its last answer, Scapy inside sr() less its final timeout;"
echo "process/s: answered / wall time of the whole command."
echo "Scapy sr() lost $S_LOST of the 1,000-packet burst; its answers whose id/seq match their request: $S_OK of $S_ANS"
echo "umpa sr 1,000 / Scapy sr():          $(ratio "$U1_RATE" "$S_RATE")x   (goal >= 50x; whole process: $(ratio "$U1_PRATE" "$S_RATE")x)"
echo "umpa sr 10,000 / Scapy sr():         $(ratio "$U10_RATE" "$S_RATE")x   (whole process: $(ratio "$U10_PRATE" "$S_RATE")x)"
echo "umpa sr 10,000 / ping -f, process:   $(ratio "$U10_PRATE" "$P_RATE")x   (goal >= 0.5x; umpa in-loop rate $(ratio "$U10_RATE" "$P_RATE")x)"
