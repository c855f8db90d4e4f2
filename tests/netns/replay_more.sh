#!/usr/bin/env bash
# replay_more.sh - `umpa replay` against real kernels: TCP on every --loop round, --learn-noise with TCP,
# --vlan, --mbps and --duration measured at the receiver (issue 12).
#
#  1. A TCP service that closes first (socat, a banner): the peer keeps each
#     connection in TIME-WAIT.  Recorded once; replayed with --loop 3 against
#     a fresh peer: three rounds, each matched, and the peer holds three
#     TIME-WAIT connections from three client ports (it saw three
#     connections).  Then --learn-noise 2 (three connections in all): exit 0
#     (the same 4-tuple again would meet the TIME-WAIT and get an ACK, not a
#     SYN+ACK).  Then umpa plays the service (--server-side --loop 3) and
#     the client in A opens each round from a port of its own: all three
#     served as recorded.
#  2. --vlan (this kernel has no 802.1Q sub-interfaces: B's kernel answers
#     untagged frames only, tcpdump -e in B reads the tags): a recorded ping
#     replayed with --vlan 42 arrives tagged 42 (and is not answered:
#     missing, exit 1); a capture tagged 7 replayed with --vlan none is
#     answered and matches (the recorded answer stripped alike), as recorded
#     it arrives tagged 7.
#  3. --mbps 8 with 1000-byte frames and --pps 1000 --duration 0.3: the rate
#     and the count measured in B (tcpdump, capinfos), within 20%;
#     --topspeed --qdisc-bypass: every frame arrives, the report names the
#     bypassed ring; with --audit it is a usage error.
#  4. -i A -i B with a router namespace between the two: every packet sent
#     on one side comes out of the other with ip.ttl 64 -> 63 (differing;
#     --ignore ip.ttl: matched); the router dropping the server's UDP: those
#     three missing; the router numbering the IP ids it forwards from the
#     client side (nft numgen): with --check ip.id those differ, and
#     --learn-noise 2 learns ip.id (named) and matches, while the TTL it lowers
#     alike each round is not learned; the same namespace as a bridge:
#     unchanged, MACs too.
#  5. the same through flaky-link offline (--template --both-sides): no loss
#     matched; loss=0.5 the dropped ones missing.
# Needs root; skips (77) otherwise.  Every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools socat tcpdump capinfos nft timeout ping ss
. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir replaymore) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT
PORT=7100

fresh() {
	netns_cleanup
	netns_pair replaymore || return 1
	trap cleanup EXIT
}

# banner: B's service on $PORT sends one line and closes first (forks per connection)
banner() {
	in_b timeout 30 socat TCP4-LISTEN:$PORT,bind=$IP_B,reuseaddr,fork,backlog=16 SYSTEM:'echo banner-line' \
		2>/dev/null &
	local i
	for i in $(seq 1 100); do
		in_b ss -ltn "( sport = :$PORT )" 2>/dev/null | grep -q LISTEN && return 0
		sleep 0.05
	done
	return 1
}

# tcpdump_on NS IF FILE FILTER...: start a capture, wait until it listens; its pid in $TDP
tcpdump_on() {
	local ns=$1 ifc=$2 f=$3 i
	shift 3
	ip netns exec "$ns" timeout 30 tcpdump -Z root --immediate-mode -i "$ifc" -U -w "$f" "$@" 2>"$f.err" &
	TDP=$!
	for i in $(seq 1 100); do
		grep -q "listening on" "$f.err" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
tcpdump_stop() {
	sleep 0.1
	kill -INT "$TDP" 2>/dev/null
	wait "$TDP" 2>/dev/null
}

# expect_exit WANT CMD...: run CMD, keep its output in $OUT, its status must be WANT
expect_exit() {
	local want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	OUT=$(cat "$T/out" "$T/err")
	[ $rc -eq "$want" ] && return 0
	echo "    (exit $rc, wanted $want)"
	head -c 2000 "$T/out" "$T/err" | sed 's/^/    /'
	return 1
}

# ---- 1. TCP on every round, and --learn-noise, against a peer that keeps TIME-WAIT ----
fresh || { echo "FAIL: cannot create the namespace pair"; exit 1; }
banner || { echo "FAIL: socat did not listen"; exit 1; }
tcpdump_on "$NS_A" "$IF_A" "$T/banner.pcap" tcp port $PORT
# -u: the client only reads, so the server's FIN comes first (the server keeps the TIME-WAIT)
in_a timeout 10 socat -u TCP4:$IP_B:$PORT - >"$T/banner.out" 2>&1
tcpdump_stop
check "recorded a connection to a service that closes first" grep -q banner-line "$T/banner.out"

fresh && banner
tw() { in_b ss -tan state time-wait "( sport = :$PORT )" 2>/dev/null | awk 'NR > 1 {print $4}' | sort -u | wc -l; }
check "--loop 3: exit 0, every exchange of the three rounds matched" \
	expect_exit 0 in_a timeout 60 "$UMPA" replay "$T/banner.pcap" -i "$IF_A" --loop 3 --timeout 1 --json
check "--loop 3: the TCP exchanges of rounds 1, 2 and 3 are reported, each matched" \
	sh -c "for i in 1 2 3; do grep '\"iteration\":'\$i',' '$T/out' | grep -q '\"flow\":\"tcp .*\"verdict\":\"matched\"' || exit 1; done;
	       ! grep -q '\"verdict\":\"\\(differing\\|missing\\|gaveup\\|unexpected\\)\"' '$T/out'"
check "--loop 3: the peer saw three connections (three TIME-WAITs from three ports: $(tw))" test "$(tw)" -eq 3
check "--loop 3: the kernel-RST guard named all three connections" grep -q "RSTs on 3 replayed flow(s)" <<<"$OUT"

fresh && banner
check "--learn-noise 2 with TCP (three connections, the peer's TIME-WAIT each time): exit 0" \
	expect_exit 0 in_a timeout 60 "$UMPA" replay "$T/banner.pcap" -i "$IF_A" --learn-noise 2 --timeout 1
check "--learn-noise 2: it learned nothing to ignore, the peer saw three connections ($(tw))" \
	sh -c "grep -q 'learned over 2 rounds to ignore: nothing' '$T/err' && [ $(tw) -eq 3 ]"

# --server-side: umpa in B plays the banner service (no socat there: B's kernel owns the address, the guard drops
# its RSTs whatever the client's port) and A's kernel opens each round's connection from a port of its own; the SYN
# of a 4-tuple the capture does not have is taken as the next round's connection (sched/replay_tcp_drv.c drv_adopt_)
fresh
tcpdump_on "$NS_B" "$IF_B" "$T/ss.pcap" "tcp port $PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
ip netns exec "$NS_B" timeout 60 "$UMPA" replay "$T/banner.pcap" -i "$IF_B" --server-side --loop 3 --timeout 1 \
	>"$T/ss.out" 2>"$T/ss.err" &
RP=$!
for _ in $(seq 1 100); do grep -q "RSTs on" "$T/ss.err" 2>/dev/null && break; sleep 0.05; done
: >"$T/ss.client"
for i in 1 2 3; do in_a timeout 10 socat -u TCP4:$IP_B:$PORT - >>"$T/ss.client" 2>&1; done
wait "$RP"
rc=$?
tcpdump_stop
ports() { tcpdump -n -r "$T/ss.pcap" 2>/dev/null | awk '{print $3}' | sort -u | wc -l; }
check "--server-side --loop 3: A's three connections each served as recorded (exit $rc: $(grep '^[0-9]* exchanges' "$T/ss.out"))" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c banner-line '$T/ss.client') -eq 3 ] &&
	       grep -q '0 differing, 0 missing, 0 unexpected.*1 flow, 0 failed' '$T/ss.out'"
check "--server-side --loop 3: from three ports of the client's choosing ($(ports)), the guard on any of them" \
	sh -c "[ $(ports) -eq 3 ] && grep -q 'RSTs on 1 replayed flow' '$T/ss.err'"

# ---- 2. --vlan: tags set, stripped and kept on the way out ----
# (no 802.1Q sub-interfaces here: the kernel of B answers untagged frames only, tcpdump -e in B reads the tags)
fresh
in_a ip neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
in_b ip neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent
tcpdump_on "$NS_A" "$IF_A" "$T/ping.pcap" icmp
in_a ping -n -c 2 -i 0.05 -W 1 "$IP_B" >/dev/null
tcpdump_stop
check "recorded two pings, untagged" test "$("$UMPA" show "$T/ping.pcap" 2>/dev/null | grep -c 'echo reply')" -eq 2
# vlanb: what B received tagged, as tcpdump -e prints it
vlanb() { tcpdump -n -e -r "$T/vlanb.pcap" 2>/dev/null | grep -c "vlan $1, .*ICMP echo request"; }
tcpdump_on "$NS_B" "$IF_B" "$T/vlanb.pcap" vlan
check "--vlan 42 on an untagged capture: B's kernel drops the tagged pings: 2 missing, exit 1" \
	expect_exit 1 in_a timeout 30 "$UMPA" replay "$T/ping.pcap" -i "$IF_A" --vlan 42 --no-auto-mac --timeout 0.3
tcpdump_stop
check "--vlan 42: tcpdump -e in B sees both echo requests tagged 802.1Q vlan 42 ($(vlanb 42))" test "$(vlanb 42)" -eq 2
check "--vlan 42: the report says 2 missing" grep -q '2 exchanges: 0 matched, 0 differing, 2 missing' <<<"$OUT"
"$UMPA" build "ether{src=\"$MAC_A\", dst=\"$MAC_B\"}/vlan{vlan=7}/ip{src=\"$IP_A\", dst=\"$IP_B\"}/icmp{id=5, seq=1}/\"ping\"" \
	"ether{src=\"$MAC_B\", dst=\"$MAC_A\"}/vlan{vlan=7}/ip{src=\"$IP_B\", dst=\"$IP_A\"}/icmp{type=0, id=5, seq=1}/\"ping\"" \
	-w "$T/tag7.pcap" >/dev/null 2>&1
check "--vlan none on a capture tagged 7: untagged out, B's kernel answers, matched, exit 0" \
	expect_exit 0 in_a timeout 30 "$UMPA" replay "$T/tag7.pcap" -i "$IF_A" --vlan none --no-auto-mac --timeout 0.5
tcpdump_on "$NS_B" "$IF_B" "$T/vlanb.pcap" vlan
check "the capture tagged 7 as recorded: B's kernel drops it, missing, exit 1" \
	expect_exit 1 in_a timeout 30 "$UMPA" replay "$T/tag7.pcap" -i "$IF_A" --no-auto-mac --timeout 0.3
tcpdump_stop
check "as recorded: tcpdump -e in B sees the echo request tagged vlan 7" test "$(vlanb 7)" -eq 1

# ---- 3. --mbps and --duration, measured where the frames arrive ----
"$UMPA" build "ether{src=\"$MAC_A\", dst=\"$MAC_B\"}/ip{src=\"$IP_A\", dst=\"$IP_B\"}/udp{sport=5000, dport=9}/raw{load=string.rep(\"x\", 958)}" \
	-c 200 -w "$T/u1000.pcap" >/dev/null 2>&1
check "built 200 frames of 1000 bytes" test "$(capinfos -M -T -r -c "$T/u1000.pcap" 2>/dev/null | awk '{print $2}')" = 200
rxp() { in_b cat "/sys/class/net/$IF_B/statistics/rx_packets"; }
tcpdump_on "$NS_B" "$IF_B" "$T/mbps.pcap" udp port 9
in_a timeout 30 "$UMPA" replay "$T/u1000.pcap" -i "$IF_A" --no-check --mbps 8 >"$T/mbps.txt" 2>&1
rc=$?
for _ in $(seq 1 50); do [ "$(capinfos -M -T -r -c "$T/mbps.pcap" 2>/dev/null | awk '{print $2}')" = 200 ] && break; sleep 0.05; done
tcpdump_stop
RATE=$(capinfos -M -T -r -i "$T/mbps.pcap" 2>/dev/null | awk '{print $2}')
check "--mbps 8: 200 frames arrived in B at ${RATE:-?} bit/s, within 20% of 8,000,000 (rc $rc; umpa: $(grep '^rate' "$T/mbps.txt"))" \
	awk -v r="${RATE:-0}" -v rc=$rc 'BEGIN { exit !(rc == 0 && r > 6.4e6 && r < 9.6e6) }'
r0=$(rxp)
in_a timeout 30 "$UMPA" replay "$T/u1000.pcap" -i "$IF_A" --no-check --pps 1000 --loop 100 --duration 0.3 >"$T/dur.txt" 2>&1
rc=$?
sleep 0.1
GOT=$(($(rxp) - r0))
SENT=$(awk '/^sent [0-9]* packets/ {print $2}' "$T/dur.txt")
SECS=$(awk '/^sent [0-9]* packets/ {print $7}' "$T/dur.txt")
check "--pps 1000 --duration 0.3 (of 20 s of --loop): ${SENT:-?} sent in ${SECS:-?} s, $GOT arrived in B: about 300 (rc $rc)" \
	awk -v s="${SENT:-0}" -v g="$GOT" -v t="${SECS:-9}" -v rc=$rc \
	'BEGIN { exit !(rc == 0 && s >= 240 && s <= 330 && g >= s - 2 && g <= s + 5 && t <= 0.33) }'

r0=$(rxp)
in_a timeout 30 "$UMPA" replay "$T/u1000.pcap" -i "$IF_A" --no-check --topspeed --loop 5 --qdisc-bypass >"$T/byp.txt" 2>&1
rc=$?
sleep 0.1
GOT=$(($(rxp) - r0))
# B's rx counter also counts what A's kernel sends by itself meanwhile (IPv6 router solicitations, MLD):
# a few more than 1000, as the --duration check above allows
check "--topspeed --qdisc-bypass: 1000 sent on the bypassed TX ring, $GOT arrived in B (rc $rc: $(head -1 "$T/byp.txt"))" \
	sh -c "[ $rc -eq 0 ] && [ $GOT -ge 1000 ] && [ $GOT -le 1005 ] && grep -q '^sent 1000 packets.*(tx-ring, qdisc bypassed)' '$T/byp.txt'"
one_line_early() { # the usage error of --qdisc-bypass without a live replay
	"$UMPA" replay "$T/u1000.pcap" --audit --qdisc-bypass >/dev/null 2>"$T/usage.err"
	local r=$?
	[ $r -eq 2 ] && [ "$(wc -l <"$T/usage.err")" -eq 1 ] && grep -q 'qdisc-bypass is for a live replay' "$T/usage.err"
}
check "--qdisc-bypass with --audit: one line, exit 2" one_line_early

# ---- 4. two interfaces, a device between them: what goes in on one side is checked where it comes out ----
# U (umpa) holds both ends: veth-u1 (the client's MAC) and veth-u2 (the server's); R between them is first a
# router (10.78.1.0/24 | 10.78.2.0/24), then a bridge.
CM=02:78:00:00:00:01 SM=02:78:00:00:00:02 RA=02:78:00:00:01:01 RB=02:78:00:00:01:02
netns_cleanup
NS_U="umpa-rmore-$$-u" NS_R="umpa-rmore-$$-r"
for ns in "$NS_U" "$NS_R"; do
	ip netns add "$ns" && NS_CREATED+=("$ns")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
trap cleanup EXIT
ip -n "$NS_U" link add veth-u1 address $CM type veth peer name veth-r1 address $RA netns "$NS_R"
ip -n "$NS_U" link add veth-u2 address $SM type veth peer name veth-r2 address $RB netns "$NS_R"
for x in "$NS_U":veth-u1 "$NS_U":veth-u2 "$NS_R":veth-r1 "$NS_R":veth-r2; do ip -n "${x%%:*}" link set "${x#*:}" up; done
ip -n "$NS_R" addr add 10.78.1.254/24 dev veth-r1
ip -n "$NS_R" addr add 10.78.2.254/24 dev veth-r2
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
ip -n "$NS_R" neigh replace 10.78.1.1 lladdr $CM dev veth-r1 nud permanent
ip -n "$NS_R" neigh replace 10.78.2.1 lladdr $SM dev veth-r2 nud permanent
C2S="ether{src=\"$CM\", dst=\"$RA\"}/ip{src=\"10.78.1.1\", dst=\"10.78.2.1\"}"
S2C="ether{src=\"$SM\", dst=\"$RB\"}/ip{src=\"10.78.2.1\", dst=\"10.78.1.1\"}"
"$UMPA" build "$C2S/udp{sport=4000, dport=53}/\"query\"" "$S2C/udp{sport=53, dport=4000}/\"answer\"" \
	"$C2S/icmp{id=3, seq=1}/\"ping\"" "$S2C/icmp{type=0, id=3, seq=1}/\"ping\"" \
	-c 3 --interval 0.002 -w "$T/two.pcap" >/dev/null 2>&1
in_u() { ip netns exec "$NS_U" "$@"; }
check "router: every packet out of the other side, each differing in ip.ttl 64 -> 63 alone, exit 1" \
	expect_exit 1 in_u timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --timeout 0.5 -v
check "router: 12 exchanges, 12 differing, and every difference is ip.ttl 64 -> 63" \
	sh -c "grep -q '^12 exchanges: 0 matched, 12 differing, 0 missing, 0 unexpected' '$T/out' &&
	       [ \$(grep -c '^differing .*: ip.ttl 64 -> 63\$' '$T/out') -eq 12 ]"
check "router with --ignore ip.ttl: every exchange matched, exit 0" \
	expect_exit 0 in_u timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --timeout 0.5 --ignore ip.ttl
ip netns exec "$NS_R" nft -f - <<'EOF2'
table inet rmore {
	chain forw {
		type filter hook forward priority 0; policy accept;
		udp sport 53 drop
	}
}
EOF2
check "router dropping the server's UDP: exit 1" \
	expect_exit 1 in_u timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --timeout 0.3 --ignore ip.ttl --json
check "router dropping the server's UDP: exactly its 3 answers missing, the 9 others matched" \
	sh -c "[ \$(grep -c '\"flow\":\"udp 10.78.1.1:4000 > 10.78.2.1:53\",\"verdict\":\"missing\"' '$T/out') -eq 3 ] &&
	       grep -q '\"matched\":9,\"differing\":0,\"missing\":3,\"unexpected\":0}' '$T/out'"
ip netns exec "$NS_R" nft delete table inet rmore
# --learn-noise through the router: it gives random IP ids to what it forwards from the client side (a 32-bit
# random number: nft 1.0.6 stores its upper 16 bits), a field that differs from round to round (checked again with
# --check ip.id); the TTL it lowers the same way every time is not noise
ip netns exec "$NS_R" nft -f - <<'EOF2'
table ip rnoise {
	chain forw {
		type filter hook forward priority 0; policy accept;
		iifname "veth-r1" ip id set numgen random mod 4294967295
	}
}
EOF2
check "router giving random ip.ids, --check ip.id: the client side's packets differ in ip.id, exit 1" \
	expect_exit 1 in_u timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --timeout 0.5 --ignore ip.ttl \
	--check ip.id -v
check "router giving random ip.ids: the 6 differing are the client side's, each in ip.id alone" \
	sh -c "grep -q '^12 exchanges: 6 matched, 6 differing, 0 missing, 0 unexpected' '$T/out' &&
	       [ \$(grep -c '^differing .*10.78.1.1.*: ip.id 0x[0-9a-f]* -> 0x[0-9a-f]*\$' '$T/out') -eq 6 ]"
check "--learn-noise 2 with two interfaces: exit 0 (ip.id learned, ip.ttl still ignored by hand)" \
	expect_exit 0 in_u timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --timeout 0.5 --ignore ip.ttl \
	--check ip.id --learn-noise 2
check "--learn-noise 2 with two interfaces: it names ip.id alone, 12 matched ($(grep learned "$T/err"))" \
	sh -c "grep -q 'learned over 2 rounds to ignore: ip.id\$' '$T/err' && grep -q '^12 exchanges: 12 matched' '$T/out'"
check "--learn-noise 2 without --ignore ip.ttl: the router's TTL is no noise (the same each round): still differing, exit 1" \
	expect_exit 1 in_u timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --timeout 0.5 --check ip.id \
	--learn-noise 2
check "... and it learned ip.id alone: 12 differing in ip.ttl 64 -> 63" \
	sh -c "grep -q 'learned over 2 rounds to ignore: ip.id\$' '$T/err' &&
	       grep -q '^12 exchanges: 0 matched, 12 differing' '$T/out'"
ip netns exec "$NS_R" nft delete table ip rnoise
# the same link as a bridge: frames pass unchanged, link layer included
ip -n "$NS_R" addr flush dev veth-r1
ip -n "$NS_R" addr flush dev veth-r2
ip -n "$NS_R" link add br0 type bridge
ip -n "$NS_R" link set veth-r1 master br0
ip -n "$NS_R" link set veth-r2 master br0
ip -n "$NS_R" link set br0 up
# on a bridged LAN the two ends address each other's MACs
"$UMPA" build "${C2S/$RA/$SM}/udp{sport=4000, dport=53}/\"query\"" "${S2C/$RB/$CM}/udp{sport=53, dport=4000}/\"answer\"" \
	"${C2S/$RA/$SM}/icmp{id=3, seq=1}/\"ping\"" "${S2C/$RB/$CM}/icmp{type=0, id=3, seq=1}/\"ping\"" \
	-c 3 --interval 0.002 -w "$T/lan.pcap" >/dev/null 2>&1
check "bridge: every packet out of the other side unchanged (--check eth: the MACs too), exit 0" \
	expect_exit 0 in_u timeout 30 "$UMPA" replay "$T/lan.pcap" -i veth-u1 -i veth-u2 --timeout 0.5 --check eth
check "bridge: 12 exchanges, 12 matched" grep -q '^12 exchanges: 12 matched' <<<"$OUT"

# ---- 5. offline: flaky-link as the device between the two sides (--template --both-sides) ----
FL=(env UMPA_TEMPLATE_PATH="$top_srcdir/templates" "$UMPA" replay "$T/lan.pcap" --template flaky-link --both-sides)
check "through flaky-link, no loss: every packet out of the other side as sent, exit 0" expect_exit 0 "${FL[@]}" --check eth
check "through flaky-link, no loss: 12 matched" grep -q '^12 exchanges: 12 matched' <<<"$OUT"
check "through flaky-link with loss=0.5: exit 1" expect_exit 1 "${FL[@]}" --set loss=0.5 --set seed=7
check "through flaky-link with loss=0.5: the dropped ones missing, the rest matched ($(grep '^12 exchanges' <<<"$OUT"))" \
	sh -c "grep '^12 exchanges:' '$T/out' | awk '{ m = \$3; x = \$7; exit !(\$5 == 0 && x > 0 && m > 0 && m + x == 12) }'"

# ---- bad input around the two sides: one line each ----
one_line() { # one_line WHAT RC PATTERN CMD...
	local what=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check "$what: exit $want, one line (rc $rc: $(head -c 200 "$T/bad.err"))" \
		sh -c "[ $rc -eq $want ] && [ \$(wc -l <'$T/bad.err') -eq 1 ] && grep -q -- '$pat' '$T/bad.err'"
}
one_line "--both-sides with one interface" 2 'two interfaces' in_u "$UMPA" replay "$T/two.pcap" -i veth-u1 --both-sides
one_line "flaky-link as the device without --both-sides" 1 'bridge: a link needs two interfaces.*--both-sides' \
	env UMPA_TEMPLATE_PATH="$top_srcdir/templates" "$UMPA" replay "$T/two.pcap" --template flaky-link
one_line "two interfaces and --server-side" 2 'drop --side' in_u "$UMPA" replay "$T/two.pcap" -i veth-u1 -i veth-u2 --server-side

finish
