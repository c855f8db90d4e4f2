#!/usr/bin/env bash
# send_bypass.sh - `umpa send --qdisc-bypass` against a real Linux peer.
#
# The same 2000 UDP frames (--fast, --inc udp.sport) are sent from A to B
# through the TX ring, first through the qdisc, then with PACKET_QDISC_BYPASS.
# Both times B's kernel counts every datagram (UdpNoPorts: counted only when
# the checksum is right) and umpa's own count is exact.  A tcpdump in A, on
# the sending interface, sees all 2000 without the bypass and none with it
# (the caveat --help and umpa.1 give); a single packet sent afterwards with
# the flag still goes through libnet and the qdisc, so that sniffer sees it:
# proof it was listening.  --l3 with the flag is a usage error.  Needs root.
set -u
: "${top_srcdir:=.}"
: "${UMPA:=./umpa}"
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
for t in tcpdump nstat timeout; do
	command -v $t >/dev/null || {
		echo "SKIP: $t is missing"
		exit 77
	}
done
netns_pair sbyp || {
	echo "FAIL: cannot create the namespaces"
	exit 1
}
. "$(dirname "$0")/../tmpdir.sh"
TMP=$(umpa_tmpdir send-bypass) || exit 1
trap 'netns_cleanup; umpa_tmpdir_done "$TMP"' EXIT
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
fail=0
N=2000
EXPR="ether{dst=\"$MAC_B\"}/ip{dst=\"$IP_B\"}/udp{sport=1000, dport=9}/\"bypass\""

ctr() { ip netns exec "$1" nstat -asz "$2" | awk -v k="$2" '$1 == k { print $2 }'; }

# sniff FILE COUNT: tcpdump in A on A's interface, UDP to port 9, until it
# has COUNT packets (it ends by itself: nothing left in its buffer) or 10 s
sniff() {
	ip netns exec "$NS_A" timeout 10 tcpdump -i "$IF_A" -nn -U -B 16384 -c "$2" -w "$1" "udp dst port 9" 2>"$1.log" &
	CAP_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$1.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "FAIL: tcpdump in A never started"
	exit 1
}
# stop FILE: waits for the sniffer, prints what it saw (one line a packet)
stop() {
	wait "$CAP_PID" 2>/dev/null
	tcpdump -nn -r "$1" 2>/dev/null
}

for mode in qdisc bypass; do
	flag=
	[ $mode = bypass ] && flag=--qdisc-bypass
	# through the qdisc it sees the N frames; bypassed, none of them: then
	# the first (and only) one it sees is the single packet (sport 7)
	if [ $mode = qdisc ]; then sniff "$TMP/$mode.pcap" $N; else sniff "$TMP/$mode.pcap" 1; fi
	u0=$(ctr "$NS_B" UdpNoPorts)
	out=$(ip netns exec "$NS_A" timeout 20 "$UMPA" send -i "$IF_A" --fast -c $N --inc udp.sport $flag "$EXPR" 2>&1)
	st=$?
	single=0
	if [ $mode = bypass ]; then
		ip netns exec "$NS_A" timeout 20 "$UMPA" send -i "$IF_A" $flag \
			"ether{dst=\"$MAC_B\"}/ip{dst=\"$IP_B\"}/udp{sport=7, dport=9}/\"single\"" >/dev/null 2>&1 && single=1
	fi
	sleep 0.2
	u1=$(ctr "$NS_B" UdpNoPorts)
	stop "$TMP/$mode.pcap" >"$TMP/$mode.txt"
	seen=$(wc -l <"$TMP/$mode.txt")
	echo "$mode: $out"
	echo "$mode: B counted $((u1 - u0)) datagrams; tcpdump in A saw $seen"
	[ $st -eq 0 ] || { echo "FAIL: $mode: exit $st"; fail=1; }
	echo "$out" | grep -q "^sent $N packets" || { echo "FAIL: $mode: umpa did not report $N sent"; fail=1; }
	if [ $mode = qdisc ]; then
		[ $((u1 - u0)) -eq $N ] || { echo "FAIL: B should count $N"; fail=1; }
		[ "$seen" -eq $N ] || { echo "FAIL: the sniffer in A should see $N through the qdisc"; fail=1; }
		echo "$out" | grep -q "(tx-ring)" || { echo "FAIL: backend should be the TX ring"; fail=1; }
	else
		[ $single -eq 1 ] || { echo "FAIL: the single packet with --qdisc-bypass failed"; fail=1; }
		[ $((u1 - u0)) -eq $((N + 1)) ] || { echo "FAIL: B should count $((N + 1))"; fail=1; }
		grep -q "\.7 > .*\.9: UDP" "$TMP/$mode.txt" && [ "$seen" -eq 1 ] ||
			{ echo "FAIL: the sniffer in A should see only the single packet, not the bypassed $N:"; cat "$TMP/$mode.txt"; fail=1; }
		echo "$out" | grep -q "qdisc bypassed" || { echo "FAIL: the summary should say the qdisc is bypassed"; fail=1; }
	fi
done

out=$("$UMPA" send --l3 --qdisc-bypass "ip{dst=\"$IP_B\"}/udp{dport=9}" 2>&1)
st=$?
echo "--l3 --qdisc-bypass: exit $st: $out"
[ $st -eq 2 ] || { echo "FAIL: --l3 --qdisc-bypass should be a usage error (2)"; fail=1; }

[ $fail -eq 0 ] && echo "PASS: send_bypass"
exit $fail
