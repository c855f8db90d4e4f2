#!/usr/bin/env bash
# bench_hosts.sh - 65,536 simulated hosts (a /16) in one `umpa run icmp-host` process.
#   sudo UMPA=build/umpa bash tests/bench/bench_hosts.sh [N]      (default N = 1000)
# Live: namespace A runs `umpa run icmp-host --set ip=10.99.0.0/16`; namespace
# B (10.99.255.254/16) pings N random
# distinct addresses of the /16 with the kernel's ping (ARP first), 100 at a
# time.  Prints: how many answered, how many B's kernel resolved by ARP to the
# host's own MAC, the wall time, and umpa's RSS (VmRSS, VmHWM) before and after.
# Offline: every one of the 65,536 addresses asked ARP who-has and pinged once
# (131,072 packets) through the same template: RSS with all 65,536 hosts made.
# Goal: RSS under 256 MiB.  Bounded: every command has a timeout.
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
UMPA=${UMPA:-$top_srcdir/build/umpa}
N=${1:-1000}
export UMPA_TEMPLATE_PATH=$top_srcdir/templates
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir bhosts) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT
netns_pair bhosts || exit 1
trap cleanup EXIT
ip -n "$NS_B" addr add 10.99.255.254/16 dev "$IF_B"

rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$1/status"; }

ip netns exec "$NS_A" timeout 600 "$UMPA" run icmp-host -i "$IF_A" --set ip=10.99.0.0/16 --json \
	>"$T/live.json" 2>"$T/live.err" &
UP=$!
for _ in $(seq 100); do # loaded: the first ping answered (bounded: 10 s)
	in_b ping -n -c 1 -W 0.1 10.99.255.253 >/dev/null 2>&1 && break
done
PID=$(pgrep -P $UP umpa || echo $UP)
echo "umpa run icmp-host --set ip=10.99.0.0/16 (65,536 hosts), pid $PID"
echo "  at start:            $(rss "$PID")"

shuf -i 1-65532 -n "$N" | awk '{ printf "10.99.%d.%d\n", int($1 / 256), $1 % 256 }' >"$T/targets"
: >"$T/ok"
start=$(date +%s%N)
split -l 100 "$T/targets" "$T/batch."
for b in "$T"/batch.*; do
	pids=()
	while read -r a; do
		(in_b timeout 20 ping -n -c 1 -W 5 "$a" >/dev/null 2>&1 && echo "$a" >>"$T/ok") &
		pids+=($!)
	done <"$b"
	wait "${pids[@]}" # (not umpa)
	# the kernel's neighbour table is small by default (gc_thresh*, global): check each batch at once
	while read -r a; do
		want=$(echo "$a" | awk -F. '{ printf "02:00:%02x:%02x:%02x:%02x", $1, $2, $3, $4 }')
		[ "$(ip -n "$NS_B" neigh show "$a" dev "$IF_B" | awk '{ print $3 }')" = "$want" ] && echo "$a" >>"$T/resolved"
	done <"$b"
done
ms=$((($(date +%s%N) - start) / 1000000))
answered=$(sort -u "$T/ok" | wc -l)
resolved=$(sort -u "$T/resolved" 2>/dev/null | wc -l)
echo "  after $N pings:     $(rss "$PID")"
echo "  ping answered: $answered of $N; ARP resolved to the host's own MAC: $resolved of $N; ${ms} ms wall (100 pings at a time)"
kill -INT $UP
wait $UP
hosts=$(sed -n 's/.*"hosts":\([0-9]*\).*/\1/p' "$T/live.json" | tail -1)
echo=$(sed -n 's/.*"echo.replies":\([0-9]*\).*/\1/p' "$T/live.json" | tail -1)
echo "  umpa counted: hosts $hosts, echo.replies $echo"

# offline: every host of the /16 contacted (ARP and ping each)
"$UMPA" build -w "$T/all.pcap" \
	'ether{src="02:aa:00:00:00:01", dst="ff:ff:ff:ff:ff:ff"}/arp{op=1, hwsrc="02:aa:00:00:00:01", psrc="10.98.0.1", pdst="10.99.0.0/16"}' \
	'ether{src="02:aa:00:00:00:01", dst="02:00:0a:63:00:00"}/ip{src="10.98.0.1", dst="10.99.0.0/16"}/icmp{id=1, seq=1}' \
	>/dev/null 2>&1
start=$(date +%s%N)
/usr/bin/time -f '%M' -o "$T/maxrss" "$UMPA" run icmp-host --offline "$T/all.pcap" --set ip=10.99.0.0/16 --json \
	>"$T/all.json" 2>"$T/all.err"
ms=$((($(date +%s%N) - start) / 1000000))
echo "offline, all 65,536 hosts asked ARP and pinged ($(sed -n 's/.*"rx":\([0-9]*\).*/\1/p' "$T/all.json") packets in, $(sed -n 's/.*"tx":\([0-9]*\).*/\1/p' "$T/all.json") out, ${ms} ms):"
echo "  hosts made: $(sed -n 's/.*"hosts":\([0-9]*\).*/\1/p' "$T/all.json"), max RSS $(awk '{ printf "%.1f MiB", $1 / 1024 }' "$T/maxrss") (goal < 256 MiB)"
