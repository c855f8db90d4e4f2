#!/usr/bin/env bash
# flaky.sh - the flaky-link template between two kernels: loss, delay, run-time
# changes, rate limit, frames up to the MTU, no loops.
#
# Three namespaces in a row (lib.sh netns_link3): A (10.78.0.1) -- M -- C
# (10.78.0.2); M runs `umpa run flaky-link -i veth-ma -i veth-mc --set
# ab.loss=0.1 --set seed=7 --http 127.0.0.1:PORT`, the only path between A
# and C.  ARP entries are static so that only the pings cross.  The real ping
# in A then shows:
#   ab.loss=0.1 (A -> C only)     500 pings at 5 ms lose 10 % +- 4;
#   PATCH {"loss":0.1,"ab.loss":""} (both ways)   about 19 % (1 - 0.9^2), 13..25;
#   PATCH {"loss":0}              the next 100 pings all return, and 1500-byte
#                                 packets (ping -s 1472 -M do) cross whole;
#   PATCH {"ab.delay":0.05}       the average RTT rises by 50 ms +- 5;
#   PATCH {"rate":"10mbit",...}   iperf3 (TCP, A -> C) stays under 10 Mbit/s;
#   offloads back on (TSO, checksums: a veth's default)   iperf3 still crosses,
#                                 the bridge cutting and checksumming as a NIC.
# The bridge's counters (GET /stats) must agree with what ping saw, and each
# ping crosses once (no frame is heard back: captures are inbound only).
# Needs root; skips (77) otherwise.  Bounded: every command has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools ping curl python3 timeout iperf3 ethtool ss

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir flaky) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

# (grep and awk, not python: a python start costs most of a second on a loaded machine)
jnum() { local v; v=$(grep -o "\"$2\":[0-9]*" "$1" | head -1 | cut -d: -f2); echo "${v:-0}"; }

# ---- offline: the same input and seed give the same output ----
"$UMPA" build --pcapng --time 1700000000 --interval 0.001 -c 1000 -w "$T/in.pcapng" \
	'ether{}/ip{src="10.1.0.1", dst="10.1.0.2"}/udp{sport=1, dport=2}/"payload"' >/dev/null 2>&1
for i in 1 2; do
	"$UMPA" run flaky-link --offline "$T/in.pcapng" -w "$T/off$i.pcapng" --set loss=0.1 --set delay=0.01 \
		--set jitter=0.002 --set distribution=normal --set seed=7 --json >"$T/off$i.json" 2>"$T/off$i.err"
	rc=$?
done
check "flaky-link --offline: exit 0" [ $rc -eq 0 ]
check "flaky-link --offline twice: byte-identical outputs" cmp -s "$T/off1.pcapng" "$T/off2.pcapng"
offline_counts() {
	local rx fwd drop tx del q
	rx=$(jnum "$T/off1.json" rx) fwd=$(jnum "$T/off1.json" ab.forwarded) drop=$(jnum "$T/off1.json" ab.dropped)
	tx=$(jnum "$T/off1.json" tx) del=$(jnum "$T/off1.json" ab.delayed) q=$(jnum "$T/off1.json" ab.queued)
	echo "  offline: $rx in, $fwd forwarded, $drop dropped"
	[ "$rx" -eq 1000 ] && [ $((fwd + drop)) -eq 1000 ] && [ "$tx" -eq "$fwd" ] && [ "$drop" -ge 60 ] &&
		[ "$drop" -le 140 ] && [ "$del" -eq "$fwd" ] && [ "$q" -eq 0 ]
}
check "flaky-link --offline: 1000 in, about 10 % dropped, the rest delayed, all out after the input ends" offline_counts

netns_link3 flaky || {
	echo "FAIL: cannot create namespaces"
	exit 1
}
trap cleanup EXIT
MAC_A=$(ip -n "$NS_A" -br link show veth-a | awk '{print $3}')
MAC_C=$(ip -n "$NS_C" -br link show veth-c | awk '{print $3}')
in_a ip neigh replace "$IP_C" lladdr "$MAC_C" dev veth-a nud permanent
in_c ip neigh replace "$IP_A" lladdr "$MAC_A" dev veth-c nud permanent

ip netns exec "$NS_M" timeout 120 "$UMPA" run flaky-link -i veth-ma -i veth-mc --set ab.loss=0.1 --set seed=7 \
	--http 127.0.0.1:0 --json >"$T/fl.out" 2>"$T/fl.err" &
FL=$!
netns_http_addr "$T/fl.err"
check "flaky-link -i veth-ma -i veth-mc --http: serves the control API" [ -n "$ADDR" ]
[ -n "$ADDR" ] || {
	cat "$T/fl.err"
	finish
	exit 1
}

# patch JSON: PATCH /params, 200
patch() { [ "$(in_m curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -X PATCH -H 'Content-Type: application/json' -d "$1" "http://$ADDR/params")" = 200 ]; }
# stats: GET /stats into $T/stats.json
stats() { in_m curl -s --max-time 5 -o "$T/stats.json" "http://$ADDR/stats"; }
# ctr NAME: a counter of the last stats
ctr() { jnum "$T/stats.json" "$1"; }
# echoes: A's kernel's ICMP counters (per namespace): "OutEchos InEchoReps"
echoes() { in_a awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["OutEchos"], $c["InEchoReps"] }' /proc/net/snmp; }
# pings N INTERVAL [ARGS]: ping from A, summary to $T/ping.txt; sets LOSS (%), MIN and AVG (ms).
# The loss is counted by A's kernel: ping stops waiting two of its RTTs after the last request, and on a
# loaded machine a reply the scheduler held back a little longer was "lost" (loss=0 lost 3 of 100).  The
# kernel counts it whenever it comes: wait until every reply is in, or none came for 1 s (bounded: 5 s).
pings() {
	local n=$1 iv=$2 o0 i0 o1 i1 last i
	shift 2
	read -r o0 i0 < <(echoes)
	in_a timeout 60 ping -n -q -c "$n" -i "$iv" -W 1 "$@" "$IP_C" >"$T/ping.txt" 2>&1
	last=
	for ((i = 0; i < 50; i++)); do
		read -r o1 i1 < <(echoes)
		[ $((i1 - i0)) -ge $((o1 - o0)) ] && break
		[ $((i % 10)) -eq 0 ] && { [ "$i1" = "$last" ] && break; last=$i1; }
		sleep 0.1
	done
	LOSS=$(awk -v o=$((o1 - o0)) -v r=$((i1 - i0)) 'BEGIN { if (o > 0) printf "%g", (o - r) * 100 / o }')
	AVG=$(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' "$T/ping.txt")
	MIN=$(sed -n 's|^rtt [^=]*= \([0-9.]*\)/.*|\1|p' "$T/ping.txt")
	echo "  ping -c $n -i $iv $*: $((o1 - o0)) sent, $((i1 - i0)) replies: ${LOSS:-?}% loss" \
		"(ping saw $(sed -n 's/.* \([0-9.]*%\) packet loss.*/\1/p' "$T/ping.txt")), rtt min ${MIN:-?} avg ${AVG:-?} ms"
}
# within X LO HI: LO <= X <= HI (decimals)
within() { [ -n "${1:-}" ] && awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x + 0 >= lo + 0 && x + 0 <= hi + 0) }'; }
# calc EXPR: awk arithmetic
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# ---- one way: ab.loss=0.1 ----
stats
base_ab=$(ctr ab.forwarded)
pings 500 0.005
check "ab.loss=0.1: 500 pings lose 10 % +- 4 ($LOSS %)" within "$LOSS" 6 14
stats
lost_ab=$(ctr ab.dropped)
fwd_ab=$(($(ctr ab.forwarded) - base_ab))
echo "  bridge: ab forwarded $fwd_ab dropped $lost_ab, ba forwarded $(ctr ba.forwarded) dropped $(ctr ba.dropped)"
check "the bridge counted each ping once: ab forwarded + dropped = 500" [ $((fwd_ab + lost_ab)) -eq 500 ]
check "ping's loss is the bridge's ab.dropped" within "$LOSS" "$(calc "$lost_ab / 5 - 0.01")" "$(calc "$lost_ab / 5 + 0.01")"
check "nothing dropped B -> A" [ "$(ctr ba.dropped)" = 0 ]
check "every reply that came back was forwarded once (ba = ab forwarded)" [ "$(ctr ba.forwarded)" -eq "$fwd_ab" ]

# ---- both ways, changed while running ----
check 'PATCH {"loss": 0.1, "ab.loss": ""}: 200' patch '{"loss": 0.1, "ab.loss": ""}'
pings 500 0.005
check "loss=0.1 both ways: 500 pings lose about 19 % (13..25: $LOSS %)" within "$LOSS" 13 25
stats
check "both directions dropped" [ "$(ctr ba.dropped)" -gt 20 ]

check 'PATCH {"loss": 0}: 200' patch '{"loss": 0}'
pings 100 0.005
check "loss=0: the next 100 pings all come back ($LOSS %)" [ "$LOSS" = 0 ]
BASE=$AVG
BASE_MIN=$MIN
pings 20 0.01 -s 1472 -M do
check "1500-byte packets (the MTU) cross whole both ways ($LOSS % loss)" [ "$LOSS" = 0 ]

# ---- delay one way ----
check 'PATCH {"ab.delay": 0.05}: 200' patch '{"ab.delay": 0.05}'
pings 60 0.01
# the minimum is what the delay adds whatever the machine's load; the average is shown
added=$(calc "${MIN:-0} - ${BASE_MIN:-0}")
added_avg=$(calc "${AVG:-0} - ${BASE:-0}")
check "ab.delay=0.05 adds 50 ms +- 5 to the RTT (min +$added ms, avg +$added_avg ms)" within "$added" 45 55
pings 5 0.01 -s 1472 -M do
check "delayed 1500-byte frames cross too ($LOSS % loss)" [ "$LOSS" = 0 ]

# ---- rate limit ----
check 'PATCH {"ab.delay": "", "rate": "10mbit", "limit": 100}: 200' patch '{"ab.delay": "", "rate": "10mbit", "limit": 100}'
in_c timeout 30 iperf3 -s -1 -B "$IP_C" -p 5201 >/dev/null 2>&1 &
IPS=$!
for i in $(seq 50); do
	in_c ss -ltn 2>/dev/null | grep -q ":5201" && break
	sleep 0.1
done
in_a timeout 30 iperf3 -c "$IP_C" -p 5201 -t 2 -J >"$T/iperf.json" 2>"$T/iperf.err"
wait $IPS 2>/dev/null
read -r snd rcv < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["end"]
print(d["sum_sent"]["bits_per_second"], d["sum_received"]["bits_per_second"])' "$T/iperf.json" 2>/dev/null)
echo "  iperf3 through rate=10mbit: sent ${snd:-?} bit/s, received ${rcv:-?} bit/s"
check "iperf3 (TCP) through rate=10mbit stays under 10 Mbit/s" within "${rcv:-nan}" 1e6 10.0e6
check "and uses the link (over 5 Mbit/s)" within "${rcv:-nan}" 5e6 10.0e6
stats
echo "  bridge: ab rate_queued $(ctr ab.rate_queued) rate_dropped $(ctr ab.rate_dropped) too_big $(ctr ab.too_big)"
check "the rate held frames back (ab.rate_queued > 0)" [ "$(ctr ab.rate_queued)" -gt 0 ]
check "no frame over the MTU reached the bridge (offloads off)" [ "$(ctr ab.too_big)" = 0 ]

# ---- the senders' offloads on (veth's default): the bridge cuts and checksums ----
for x in "$NS_A:veth-a" "$NS_C:veth-c"; do
	ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tx on tso on gso on >/dev/null 2>&1
done
check 'PATCH {"rate": "50mbit", "limit": 1000}: 200 (a bound that spares the CPU)' patch '{"rate": "50mbit", "limit": 1000}'
in_c timeout 30 iperf3 -s -1 -B "$IP_C" -p 5202 >/dev/null 2>&1 &
IPS=$!
for i in $(seq 50); do
	in_c ss -ltn 2>/dev/null | grep -q ":5202" && break
	sleep 0.1
done
in_a timeout 30 iperf3 -c "$IP_C" -p 5202 -t 1 -J >"$T/iperf2.json" 2>"$T/iperf2.err"
wait $IPS 2>/dev/null
rcv2=$(grep -A8 '"sum_received"' "$T/iperf2.json" | sed -n 's/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' | head -1)
stats
echo "  iperf3 with TSO and checksum offload on: received ${rcv2:-?} bit/s; bridge: ab repaired $(ctr ab.repaired) segmented $(ctr ab.segmented), ba repaired $(ctr ba.repaired)"
check "offloads on: iperf3 (TCP) crosses (over 1 Mbit/s; without the repair nothing does)" within "${rcv2:-}" 1e6 100e9
check "offloads on: the bridge cut TCP frames over the MTU into segments" [ "$(ctr ab.segmented)" -gt 100 ]
check "offloads on: the bridge finished the checksums of the acks" [ "$(ctr ba.repaired)" -gt 10 ]
check "offloads on: still nothing over the MTU went out" [ "$(ctr ab.too_big)" = 0 ]

# ---- bad input ----
got=$(in_m curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -X PATCH -H 'Content-Type: application/json' -d '{"loss": "lots"}' "http://$ADDR/params")
in_m curl -s --max-time 5 -o "$T/params.json" "http://$ADDR/params"
unchanged() { [ "$got" = 400 ] && grep -q '"loss":{"type":"number","value":"0"' "$T/params.json"; }
check 'PATCH {"loss": "lots"}: 400, loss still 0' unchanged
# in-range type, out-of-range value: the declared range (0..1) refuses it, naming the parameter
got=$(in_m curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -X PATCH -H 'Content-Type: application/json' -d '{"loss": 0, "ab.loss": 2}' "http://$ADDR/params")
in_m curl -s --max-time 5 -o "$T/params.json" "http://$ADDR/params"
refused() { [ "$got" = 400 ] && grep -q "parameter 'ab.loss'.*at most 1" "$T/body" && grep -q '"status": *400' "$T/body" && grep -q '"ab.loss":{"type":"number","value":""' "$T/params.json"; }
check "PATCH {\"loss\": 0, \"ab.loss\": 2}: 400 naming ab.loss ($(cat "$T/body")), ab.loss unchanged" refused
# one_line RC WANT FILE PATTERN: exit status WANT, FILE one line matching PATTERN
one_line() { [ "$1" = "$2" ] && [ "$(wc -l <"$3")" -eq 1 ] && grep -q -- "$4" "$3"; }
"$UMPA" run flaky-link -i lo --set loss=0.1 >/dev/null 2>"$T/one.err"
rc=$?
check "flaky-link with one interface: exit 1, one line ($(cat "$T/one.err"))" one_line $rc 1 "$T/one.err" "needs two interfaces"
"$UMPA" build -w "$T/one.pcap" 'ether{}/ip{dst="10.1.0.2"}/udp{}' >/dev/null 2>&1
"$UMPA" run flaky-link --offline "$T/one.pcap" --set ab.loss=2 >/dev/null 2>"$T/bad.err"
rc=$?
check "ab.loss=2: exit 2 (the declared range), one line naming it ($(cat "$T/bad.err"))" one_line $rc 2 "$T/bad.err" "parameter 'ab.loss' wants at most 1"
"$UMPA" run flaky-link --offline "$T/one.pcap" --set rate=fast >/dev/null 2>"$T/bad.err"
rc=$?
check "rate=fast: exit 1, one line naming it ($(cat "$T/bad.err"))" one_line $rc 1 "$T/bad.err" "run: rate: 'fast' is not a rate"
"$UMPA" run flaky-link --offline "$T/one.pcap" --set loss=-1 >/dev/null 2>"$T/bad.err"
rc=$?
check "loss=-1: exit 2, one line naming it ($(cat "$T/bad.err"))" one_line $rc 2 "$T/bad.err" "parameter 'loss' wants at least 0"
"$UMPA" run flaky-link --offline "$T/one.pcap" --set distribution=gauss >/dev/null 2>"$T/bad.err"
rc=$?
check "distribution=gauss: exit 1, one line naming the choices" one_line $rc 1 "$T/bad.err" "give uniform, normal, pareto or paretonormal"
"$UMPA" run flaky-link --offline "$T/one.pcap" --set ab.los=0.1 >/dev/null 2>"$T/bad.err"
rc=$?
check "ab.los=0.1: exit 2 naming the parameter" one_line $rc 2 "$T/bad.err" "no parameter 'ab.los'"

kill -TERM $FL
wait $FL
rc=$?
check "flaky-link ends at SIGTERM with exit 0" [ $rc -eq 0 ]
check "and prints its counters as JSON" [ "$(jnum "$T/fl.out" ab.forwarded)" -gt 1000 ]
finish
