#!/usr/bin/env bash
# bench_run.sh - `umpa run icmp-host` answering `ping -f` from a peer namespace,
# next to a Scapy sniff-and-send responder doing the same work and the peer
# kernel answering for itself (the limit).  Root; namespaces of its own.
#   sudo bash tests/bench/bench_run.sh [COUNT]     (default 20000 pings each)
#   sudo RUN_OPTS= bash tests/bench/bench_run.sh    (umpa without --busy-poll)
#   sudo PIN=0 bash tests/bench/bench_run.sh        (responders and ping on CPU 0)
# Prints, per responder: replies per second (ping's own time), loss, RTT
# min/avg/max; umpa's rate over Scapy's (the issue's goal: >= 30x); then for
# umpa and the kernel the median RTT of 4,000 pings sent every 0.5 ms (ping -f
# prints no single times) and their ratio, the issue's goal being a median
# within 5x the kernel's.  Bounded: every command has a timeout.
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
UMPA=${UMPA:-$top_srcdir/build/umpa}
N=${1:-20000}
# umpa's options (RUN_OPTS= for the default, epoll-only path)
RUN_OPTS=${RUN_OPTS---busy-poll 200}
# PIN=CPU: every responder (umpa, Scapy) and ping on that one CPU.  A responder
# in user space answers ping -f fastest beside it: on another CPU each request
# and each reply wakes a sleeping CPU (on a virtual machine tens of
# microseconds), which the kernel, answering inside ping's own send, never does.
PIN=${PIN:-}
PINCMD=()
[ -n "$PIN" ] && PINCMD=(taskset -c "$PIN")
export UMPA_TEMPLATE_PATH=$top_srcdir/templates
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_pair brun || exit 1

flood() { # NAME ADDR [COUNT]
	local out
	out=$(in_b "${PINCMD[@]}" timeout 120 ping -n -f -q -c "${3:-$N}" "$2" 2>&1)
	local sent recv ms rtt
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$out")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	ms=$(sed -n 's/.*time \([0-9]*\)ms.*/\1/p' <<<"$out")
	rtt=$(sed -n 's/^rtt min\/avg\/max\/mdev = \([^ ]*\) ms.*/\1/p' <<<"$out")
	RATE=$(( ${ms:-0} > 0 ? ${recv:-0} * 1000 / ms : 0 ))
	printf '%-34s %8s replies/s  %s/%s answered  rtt min/avg/max/mdev %s ms\n' "$1" \
		"$RATE" "${recv:-0}" "${sent:-0}" "${rtt:-?}"
}

# median [p10 p90] of ping's single RTTs (ms)
median() { # ADDR
	in_b "${PINCMD[@]}" timeout 60 ping -n -i 0.0005 -c 4000 -W 1 "$1" 2>&1 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) printf "%s %s %s\n", a[int((NR + 1) / 2)], a[int(NR * 0.1) + 1], a[int(NR * 0.9)] }'
}

# umpa run icmp-host
ip netns exec "$NS_A" "${PINCMD[@]}" timeout 300 "$UMPA" run icmp-host -i "$IF_A" --set ip=10.77.0.50 $RUN_OPTS >/dev/null 2>&1 &
UP=$!
sleep 1
in_b ping -n -c 2 -W 1 10.77.0.50 >/dev/null
flood "umpa run icmp-host" 10.77.0.50
URATE=$RATE
read -r UMED UP10 UP90 <<<"$(median 10.77.0.50)"
kill -INT $UP
wait $UP

# Scapy: sniff, answer echo requests and ARP for 10.77.0.51
PY=${PYTHON:-/usr/bin/python3} # Debian's python3-scapy lives in the system Python
if "$PY" -c 'import scapy' 2>/dev/null; then
	ip netns exec "$NS_A" "${PINCMD[@]}" timeout 300 "$PY" - "$IF_A" <<'PY' >/dev/null 2>&1 &
import sys
from scapy.all import sniff, sendp, Ether, ARP, IP, ICMP, conf
conf.verb = 0
iface = sys.argv[1]
me, mac = "10.77.0.51", "02:00:0a:4d:00:33"
s = conf.L2socket(iface=iface)
def answer(p):
    if ARP in p and p[ARP].op == 1 and p[ARP].pdst == me:
        s.send(Ether(src=mac, dst=p.src)/ARP(op=2, hwsrc=mac, psrc=me, hwdst=p[ARP].hwsrc, pdst=p[ARP].psrc))
    elif IP in p and ICMP in p and p[IP].dst == me and p[ICMP].type == 8:
        s.send(Ether(src=mac, dst=p.src)/IP(src=me, dst=p[IP].src)/ICMP(type=0, id=p[ICMP].id, seq=p[ICMP].seq)/p[ICMP].payload)
sniff(iface=iface, filter="arp or icmp", prn=answer, store=0)
PY
	SP=$!
	sleep 3
	in_b ping -n -c 2 -W 1 10.77.0.51 >/dev/null
	flood "Scapy sniff-and-send" 10.77.0.51 $((N / 10))
	SRATE=$RATE
	kill $SP 2>/dev/null
	wait $SP 2>/dev/null
fi

flood "the peer kernel itself" 10.77.0.1
read -r KMED KP10 KP90 <<<"$(median 10.77.0.1)"
printf 'median RTT (4000 pings every 0.5 ms): umpa %s ms (p10 %s, p90 %s), kernel %s ms (p10 %s, p90 %s): %s x the kernel\n' \
	"${UMED:-?}" "${UP10:-?}" "${UP90:-?}" "${KMED:-?}" "${KP10:-?}" "${KP90:-?}" \
	"$(awk -v u="${UMED:-0}" -v k="${KMED:-0}" 'BEGIN { if (k > 0) printf "%.1f", u / k; else print "?" }')"
[ -n "${SRATE:-}" ] && printf 'replies/s: umpa %s, Scapy %s: %s x Scapy\n' "$URATE" "$SRATE" \
	"$(awk -v u="$URATE" -v s="$SRATE" 'BEGIN { if (s > 0) printf "%.1f", u / s; else print "?" }')"
