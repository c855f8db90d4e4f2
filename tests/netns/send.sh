#!/usr/bin/env bash
# send.sh - `umpa send` against a real Linux peer: two namespaces, a veth pair.
#
# umpa runs in A; the kernel in B is the peer.  Arrival is proven by B's own
# counters (nstat: IcmpInEchos, UdpNoPorts - the kernel counts a UDP datagram
# only when its checksum is right) and by tcpdump in B; B's answers by
# tcpdump in A.  Needs root (skips with 77 otherwise).
set -u
: "${top_srcdir:=.}"
: "${UMPA:=./umpa}"
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
for t in tcpdump nstat ping timeout; do
	command -v $t >/dev/null || {
		echo "SKIP: $t is missing"
		exit 77
	}
done
netns_pair send || {
	echo "FAIL: cannot create the namespaces"
	exit 1
}
. "$(dirname "$0")/../tmpdir.sh"
TMP=$(umpa_tmpdir send) || exit 1
trap 'netns_cleanup; umpa_tmpdir_done "$TMP"' EXIT

# ctr NS NAME: absolute value of a kernel SNMP counter in namespace NS
ctr() { ip netns exec "$1" nstat -asz "$2" | awk -v k="$2" '$1 == k { print $2 }'; }

# cap NS IF FILE COUNT FILTER: tcpdump in the background until COUNT packets or 10 s
cap() {
	local ns=$1 ifc=$2 file=$3 count=$4 filter=$5
	ip netns exec "$ns" timeout 10 tcpdump -i "$ifc" -nn -U -c "$count" -w "$file" "$filter" 2>"$file.log" &
	CAP_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$file.log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# run ARGS...: umpa send in A; sets OUT, ERR, RC
run() {
	in_a timeout 20 "$UMPA" send "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
	echo "  \$ umpa send $*  -> exit $RC"
	[ -n "$OUT" ] && sed 's/^/    /' "$TMP/out"
	[ -n "$ERR" ] && sed 's/^/    /' "$TMP/err"
	return 0
}

one_line_error() { [ "$RC" -eq "$1" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "$2" "$TMP/err"; }

ECHO='icmp{type="echo-request", id=0x1234, seq=%d}/"umpa send test"'
echo_expr() { printf "$ECHO" "$1"; }

# ---- bad input first (the neighbour table is still empty) ----
run -i nosuch0 "ether{}/ip{dst=\"$IP_B\"}/$(echo_expr 1)"
check "unknown interface: one line, exit 1" one_line_error 1 "no interface 'nosuch0'"
run -i "$IF_A" "ether{}/ip{dst=\"10.77.0.99\"}/$(echo_expr 1)"
check "no neighbour answers ARP for the destination: one line, exit 1" one_line_error 1 "no neighbour entry for 10.77.0.99"
run --l3 'ip{dst="192.0.2.1"}/icmp{}'
check "--l3 to a destination with no route: 'network unreachable', exit 1" one_line_error 1 "network unreachable"
run "ether{}/ip{dst=\"$IP_B\"}/icmp{}"
check "no interface given at layer 2: usage error, exit 2" one_line_error 2 "give -i"
run -i "$IF_A" 'udp{dport=9}/"x"'
check "layer 2 with a packet no link header fits (starts with udp): exit 1" one_line_error 1 "put ether{}/ in front"

# the kernel learns B's MAC
in_a ping -c 1 -W 2 "$IP_B" >/dev/null
in_a ping -6 -c 1 -W 2 "$IP6_B" >/dev/null

# ---- layer 2: ether dst from the neighbour table, ether src and ip src from the interface ----
in0=$(ctr "$NS_B" IcmpInEchos)
rep0=$(ctr "$NS_B" IcmpOutEchoReps)
cap "$NS_B" "$IF_B" "$TMP/b.pcap" 1 'icmp[icmptype] = 8 and icmp[4:2] = 0x1234'
cap "$NS_A" "$IF_A" "$TMP/a.pcap" 1 'icmp[icmptype] = 0 and icmp[4:2] = 0x1234 and icmp[6:2] = 1'
run -i "$IF_A" "ether{}/ip{dst=\"$IP_B\"}/$(echo_expr 1)"
sent_ok() { [ "$RC" -eq 0 ] && echo "$OUT" | grep -q "^sent $1 packets\?,"; }
check "layer 2 send: exit 0, 'sent 1 packet'" sent_ok 1
wait
in1=$(ctr "$NS_B" IcmpInEchos)
rep1=$(ctr "$NS_B" IcmpOutEchoReps)
check "B's kernel received the echo request (IcmpInEchos +1: $in0 -> $in1)" [ $((in1 - in0)) -eq 1 ]
check "B's kernel replied (IcmpOutEchoReps +1)" [ $((rep1 - rep0)) -eq 1 ]
line=$(tcpdump -r "$TMP/b.pcap" -nn -e 2>/dev/null | head -1)
echo "    B saw: $line"
check "the frame B saw: ether src = A's MAC, ether dst = B's MAC (neighbour table)" \
	bash -c "[[ '$line' == *'$MAC_A > $MAC_B'* ]]"
check "the frame B saw: ip src = A's address (from the interface)" bash -c "[[ '$line' == *'$IP_A > $IP_B'* ]]"
line=$(tcpdump -r "$TMP/a.pcap" -nn 2>/dev/null | head -1)
echo "    A got back: $line"
check "A received B's echo reply (id 0x1234 seq 1)" bash -c "[[ '$line' == *'echo reply, id 4660, seq 1'* ]]"

# ---- layer 3: the kernel routes ----
in0=$(ctr "$NS_B" IcmpInEchos)
cap "$NS_A" "$IF_A" "$TMP/a3.pcap" 1 'icmp[icmptype] = 0 and icmp[4:2] = 0x1234 and icmp[6:2] = 2'
run --l3 "ip{dst=\"$IP_B\"}/$(echo_expr 2)"
check "--l3 send: exit 0" [ "$RC" -eq 0 ]
wait
in1=$(ctr "$NS_B" IcmpInEchos)
check "--l3: B received it (IcmpInEchos +1)" [ $((in1 - in0)) -eq 1 ]
check "--l3: B's reply came back to A" [ "$(tcpdump -r "$TMP/a3.pcap" -nn 2>/dev/null | grep -c 'seq 2')" -eq 1 ]

# ---- IPv6, both layers ----
in0=$(ctr "$NS_B" Icmp6InEchos)
run -i "$IF_A" "ether{}/ipv6{dst=\"$IP6_B\"}/icmpv6{type=\"echo-request\", id=7, seq=1}/\"v6\""
run --l3 "ipv6{dst=\"$IP6_B\"}/icmpv6{type=\"echo-request\", id=7, seq=2}/\"v6\""
sleep 0.2
in1=$(ctr "$NS_B" Icmp6InEchos)
check "IPv6 at layer 2 (ether dst from the neighbour table) and at --l3: Icmp6InEchos +2" [ $((in1 - in0)) -eq 2 ]

# ---- -c 100 --rate 1000: exactly 100 in about 0.1 s ----
in0=$(ctr "$NS_B" IcmpInEchos)
run -i "$IF_A" -c 100 --rate 1000 "ether{}/ip{dst=\"$IP_B\"}/$(echo_expr 3)"
sleep 0.3
in1=$(ctr "$NS_B" IcmpInEchos)
check "-c 100 --rate 1000: B received exactly 100 ($((in1 - in0)))" [ $((in1 - in0)) -eq 100 ]
secs=$(echo "$OUT" | sed -n 's/^sent 100 packets, [0-9]* bytes in \([0-9.]*\) s.*/\1/p')
check "-c 100 --rate 1000 took about 0.1 s (${secs:-?} s; 99 gaps of 1 ms)" \
	awk -v s="${secs:-0}" 'BEGIN { exit !(s >= 0.098 && s < 0.25) }'
check "--rate prints the rate accuracy (requested vs achieved, gap jitter)" \
	bash -c "echo '$OUT' | grep -q 'rate: requested 1000 pps, achieved' && echo '$OUT' | grep -q 'jitter (stddev)'"

# ---- --bps: 60-byte frames (480 bits) at 96 kbit/s are 200 per second ----
run -i "$IF_A" -c 20 --bps 96000 "ether{}/ip{dst=\"$IP_B\"}/udp{sport=7, dport=9}/\"$(printf '%018d' 0)\""
bps=$(echo "$OUT" | sed -n 's/^rate: requested 96000 bps, achieved [0-9.e+]* pps \([0-9.e+]*\) bps.*/\1/p')
check "--bps 96000: achieved ${bps:-?} bps, within 20%" awk -v b="${bps:-0}" 'BEGIN { exit !(b > 76800 && b < 115200) }'

# ---- --inc: one field changing per packet, checksums right ----
no0=$(ctr "$NS_B" UdpNoPorts)
cs0=$(ctr "$NS_B" UdpInCsumErrors)
cap "$NS_B" "$IF_B" "$TMP/inc.pcap" 50 'udp and dst port 9'
run -i "$IF_A" -c 50 --inc udp.sport "ether{}/ip{dst=\"$IP_B\"}/udp{sport=1000, dport=9}/\"payload\""
wait
no1=$(ctr "$NS_B" UdpNoPorts)
cs1=$(ctr "$NS_B" UdpInCsumErrors)
check "--inc udp.sport -c 50: B's kernel accepted 50 datagrams with good checksums (UdpNoPorts +$((no1 - no0)), csum errors +$((cs1 - cs0)))" \
	[ $((no1 - no0)) -eq 50 -a $((cs1 - cs0)) -eq 0 ]
ports=$(tcpdump -r "$TMP/inc.pcap" -nn 2>/dev/null | sed -n 's/.*\.\([0-9]*\) > .*/\1/p' | sort -n | uniq | tr '\n' ' ')
check "--inc: source ports 1000..1049, each once" [ "$ports" = "$(seq -s ' ' 1000 1049) " ]

# ---- --inc through every value of a 16-bit field: the incremental checksum update
# (RFC 1624) must give what finish gives, including the wrap and UDP's 0xffff ----
no0=$(ctr "$NS_B" UdpNoPorts)
cs0=$(ctr "$NS_B" UdpInCsumErrors)
run -i "$IF_A" -c 70000 --rate 100000 --stats --inc udp.sport "ether{}/ip{dst=\"$IP_B\"}/udp{sport=1000, dport=9}/\"payload\""
sleep 0.3
no1=$(ctr "$NS_B" UdpNoPorts)
cs1=$(ctr "$NS_B" UdpInCsumErrors)
check "--inc over all 65536 source ports (70000 packets): incremental path used" \
	bash -c "echo '$OUT' | grep -q '1 of 1 packets updated incrementally'"
check "--inc over all 65536 source ports: B accepted all 70000 (UdpNoPorts +$((no1 - no0)), csum errors +$((cs1 - cs0)))" \
	[ $((no1 - no0)) -eq 70000 -a $((cs1 - cs0)) -eq 0 ]

# ---- an IP packet on an Ethernet device: umpa adds the Ethernet header (as Scapy's sendp(IP()) would need by hand) ----
in0=$(ctr "$NS_B" IcmpInEchos)
run -i "$IF_A" -c 2 "ip{dst=\"$IP_B\"}/$(echo_expr 9)"
sleep 0.2
in1=$(ctr "$NS_B" IcmpInEchos)
check "ip{}/icmp{} at layer 2 (Ethernet header added, addresses filled): exit 0 and B received 2" [ "$RC" -eq 0 -a $((in1 - in0)) -eq 2 ]

# ---- -Z: privileges dropped before the first packet, the open handles still send ----
in0=$(ctr "$NS_B" IcmpInEchos)
run -i "$IF_A" -Z nobody -c 3 "ether{}/ip{dst=\"$IP_B\"}/$(echo_expr 4)"
sleep 0.2
in1=$(ctr "$NS_B" IcmpInEchos)
check "-Z nobody: exit 0 and B received 3 echo requests" [ "$RC" -eq 0 -a $((in1 - in0)) -eq 3 ]
# --l3 -Z with IPv6: the raw IPv6 socket must be open before the privileges go
in0=$(ctr "$NS_B" Icmp6InEchos)
run --l3 -Z nobody -c 1 "ipv6{dst=\"$IP6_B\"}/icmpv6{type=\"echo-request\", id=8, seq=range(1,2)}/\"v6\""
sleep 0.2
in1=$(ctr "$NS_B" Icmp6InEchos)
check "--l3 -Z nobody, IPv6 (raw socket opened before -Z): exit 0 and Icmp6InEchos +2" \
	[ "$RC" -eq 0 -a $((in1 - in0)) -eq 2 ]

# ---- -f: a Lua script returns what to send ----
cat >"$TMP/pkts.lua" <<EOF
local t = {}
for i = 1, 3 do t[#t + 1] = ether{}/ip{dst="$IP_B"}/icmp{type="echo-request", id=0x4242, seq=i}/"from a script" end
return t
EOF
in0=$(ctr "$NS_B" IcmpInEchos)
run -i "$IF_A" -f "$TMP/pkts.lua"
sleep 0.2
in1=$(ctr "$NS_B" IcmpInEchos)
check "-f script returning 3 packets: exit 0, B received 3" [ "$RC" -eq 0 -a $((in1 - in0)) -eq 3 ]

# ---- one packet that cannot be addressed does not stop the others ----
in0=$(ctr "$NS_B" IcmpInEchos)
run -i "$IF_A" "ether{}/ip{dst={\"$IP_B\", \"10.77.0.99\", \"$IP_B\"}}/$(echo_expr 5)"
sleep 0.2
in1=$(ctr "$NS_B" IcmpInEchos)
check "a set with one silent host: the 2 others sent (IcmpInEchos +$((in1 - in0))), 'sent 2 packets', exit 1" \
	[ "$RC" -eq 1 -a $((in1 - in0)) -eq 2 ] && echo "$OUT" | grep -q '^sent 2 packets,'
check "... stderr names the packet and the reason, in one line" one_line_error 1 "packet 2 not sent: 10.77.0.99: no answer to ARP who-has"
check "... the summary counts it" bash -c "echo '$OUT' | grep -q '^not sent: 1 of the 3 packets of the set'"
in0=$(ctr "$NS_B" IcmpInEchos)
t0=$(date +%s.%N)
run -i "$IF_A" "ether{}/ip{dst={\"10.77.0.98\", \"$IP_B\", \"10.77.0.97\"}}/$(echo_expr 6)"
t1=$(date +%s.%N)
sleep 0.2
in1=$(ctr "$NS_B" IcmpInEchos)
check "two silent hosts: B got the third packet, each silent one named on stderr, exit 1" \
	bash -c "[ $RC -eq 1 ] && [ $((in1 - in0)) -eq 1 ] && [ \$(wc -l <'$TMP/err') -eq 2 ] && grep -q 'packet 1 not sent: 10.77.0.98: no answer' '$TMP/err' && grep -q 'packet 3 not sent: 10.77.0.97: no answer' '$TMP/err'"
check "... asked at once: $(echo "$t1 - $t0" | bc) s, under 5.5 s (one after the other: 6 s or more)" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5.5) }'

# ---- send and sr fill the same addresses for the same expression: the frames B captures are equal ----
# (ip.id set: sr numbers the ids it is left; B does not forward, so 10.79.0.5 answers nothing)
ip -n "$NS_A" route add 10.79.0.0/24 via "$IP_B"
# hexes FILE: one line of hex per captured frame
hexes() { tcpdump -r "$1" -xx -nn 2>/dev/null | awk '/^\t0x/ { sub(/^\t0x[0-9a-f]+: +/, ""); gsub(/ /, ""); h = h $0; next } { if (h != "") print h; h = "" } END { if (h != "") print h }'; }
same_fill() { # NAME FILTER EXPR
	local name=$1 filter=$2 expr=$3
	cap "$NS_B" "$IF_B" "$TMP/same-$name.pcap" 2 "ether src $MAC_A and ($filter)"
	in_a timeout 20 "$UMPA" send -i "$IF_A" "$expr" >/dev/null 2>"$TMP/same-$name.err"
	in_a timeout 20 "$UMPA" sr -i "$IF_A" --timeout 0.3 "$expr" >/dev/null 2>>"$TMP/same-$name.err"
	wait
	mapfile -t H < <(hexes "$TMP/same-$name.pcap")
	echo "    $name: send ${H[0]:-(none)}" | cut -c1-80
	echo "    $name: sr   ${H[1]:-(none)}" | cut -c1-80
	sed 's/^/    /' "$TMP/same-$name.err"
	[ "${#H[@]}" -eq 2 ] && [ -n "${H[0]}" ] && [ "${H[0]}" = "${H[1]}" ]
}
check "send and sr, same frame: IPv4 on-link, addresses from the interface and the neighbour table" \
	same_fill v4 'icmp and icmp[4:2] = 0x5151' "ether{}/ip{dst=\"$IP_B\", id=7}/icmp{type=\"echo-request\", id=0x5151, seq=1}/\"same\""
check "send and sr, same frame: off-link through the gateway (ether dst = B's MAC), Ethernet header added" \
	same_fill gw 'udp port 5151' 'ip{dst="10.79.0.5", id=8}/udp{sport=5151, dport=9}/"same"'
check "send and sr, same frame: IPv6" \
	same_fill v6 'icmp6 and ip6[44:2] = 0x5151' "ether{}/ipv6{dst=\"$IP6_B\"}/icmpv6{type=\"echo-request\", id=0x5151, seq=2}"
check "send and sr, same frame: ARP who-has (broadcast, sender = A)" \
	same_fill arp "arp and arp[24:4] = 0x0a4d0002" "ether{}/arp{pdst=\"$IP_B\"}"
check "send and sr, same frame: IPv4 multicast (group MAC)" \
	same_fill mc 'udp port 5353' 'ether{}/ip{dst="224.0.0.251", id=9}/udp{sport=5353, dport=5353}'
check "send and sr, same frame: directed broadcast of A's subnet (ff:ff:ff:ff:ff:ff)" \
	same_fill bc 'udp port 5454' 'ether{}/ip{dst="10.77.0.255", id=10}/udp{sport=5454, dport=5454}'

# ---- a range expands; the fast (batch) path sends the whole set ----
no0=$(ctr "$NS_B" UdpNoPorts)
run -i "$IF_A" --fast -c 2 "ether{}/ip{dst=\"$IP_B\"}/udp{sport=range(2000,2499), dport=9}"
sleep 0.3
no1=$(ctr "$NS_B" UdpNoPorts)
check "range of 500 ports x -c 2 unpaced: 1000 delivered ($((no1 - no0)))" [ $((no1 - no0)) -eq 1000 ]

finish
