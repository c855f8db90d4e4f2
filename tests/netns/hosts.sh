#!/usr/bin/env bash
# hosts.sh - many simulated hosts in one process: icmp-host claiming a /16.
#
# Offline: 8,192 ARP who-has for distinct addresses of 10.99.0.0/19 through
# `umpa run icmp-host --set ip=10.99.0.0/16` are all answered, each with its
# own MAC (02:00 + the address); 8,192 hosts are made on first contact, and
# the per-host counters stop at 4,096 hosts (the rest in hosts.untracked.tx).
# Live: namespace A runs the same template on its veth; namespace B
# (10.99.255.254/16) pings 50 random addresses of the /16 with the kernel's
# ping (which ARPs first): every one answers, B's neighbour table holds each
# with its own MAC, and umpa counts exactly those 50 hosts.
# Needs root; skips (77) otherwise.  Bounded: every wait has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark ping timeout pgrep shuf

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir hosts) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

count_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1" | tail -1; }

# ---- offline: a /19 of who-has ----
"$UMPA" build -w "$T/who.pcap" 'ether{src="02:aa:00:00:00:01", dst="ff:ff:ff:ff:ff:ff"}/arp{op=1, hwsrc="02:aa:00:00:00:01", psrc="10.99.255.254", pdst="10.99.0.0/19"}' \
	>/dev/null 2>&1
"$UMPA" run icmp-host --offline "$T/who.pcap" --set ip=10.99.0.0/16 -w "$T/who-out.pcapng" --json >"$T/off.json" 2>"$T/off.err"
rc=$?
check "offline: exit 0 (rc $rc)" [ $rc -eq 0 ]
check "offline: 8192 who-has answered, 8192 hosts made" \
	[ "$(count_of "$T/off.json" arp.replies)" -eq 8192 -a "$(count_of "$T/off.json" hosts)" -eq 8192 ]
check "offline: per-host counters for 4096 hosts, the other 4096 untracked" \
	[ "$(grep -o '"host\.[0-9.]*\.tx"' "$T/off.json" | wc -l)" -eq 4096 -a "$(count_of "$T/off.json" hosts.untracked.tx)" -eq 4096 ]
# every reply: is-at from the asked address, with 02:00 + its four bytes
tshark -r "$T/who-out.pcapng" -Y 'arp.opcode==2' -T fields -e arp.src.proto_ipv4 -e arp.src.hw_mac 2>/dev/null >"$T/isat.txt"
check "offline: each reply's MAC is 02:00 and its address" \
	sh -c "[ \$(wc -l <'$T/isat.txt') -eq 8192 ] && awk -F'\t' '{ split(\$1, a, \".\"); m = sprintf(\"02:00:%02x:%02x:%02x:%02x\", a[1], a[2], a[3], a[4]); if (m != \$2) { print; exit 1 } }' '$T/isat.txt'"

"$UMPA" run arp-responder --offline "$T/who.pcap" --set ip=10.99.0.0/17 --json >"$T/arp.json" 2>/dev/null
check "offline: arp-responder on a /17 answers the same 8192 who-has" \
	[ "$(count_of "$T/arp.json" arp.replies)" -eq 8192 -a "$(count_of "$T/arp.json" hosts)" -eq 8192 ]
"$UMPA" run arp-responder --offline "$T/who.pcap" --set ip=10.99.16.0/20 --json >"$T/arp2.json" 2>/dev/null
check "offline: arp-responder on 10.99.16.0/20 answers only its 4096 of them" \
	[ "$(count_of "$T/arp2.json" arp.replies)" -eq 4096 ]

# ---- live: 50 random hosts of the /16 ----
netns_pair hosts || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
ip -n "$NS_B" addr add 10.99.255.254/16 dev "$IF_B"
ip netns exec "$NS_A" timeout 60 "$UMPA" run icmp-host -i "$IF_A" --set ip=10.99.0.0/16 --json \
	>"$T/live.json" 2>"$T/live.err" &
UP=$!
for _ in $(seq 100); do # loaded and capturing: a first host answers (bounded: 10 s)
	in_b ping -n -c 1 -W 0.1 10.99.255.253 >/dev/null 2>&1 && break
done

# 50 distinct random addresses (not B's own, not .255.253 (asked above), not the network or broadcast address)
shuf -i 1-65532 -n 50 | awk '{ printf "10.99.%d.%d\n", int($1 / 256), $1 % 256 }' >"$T/targets"
: >"$T/pings"
while read -r a; do
	(in_b timeout 20 ping -n -c 1 -W 5 "$a" >/dev/null 2>&1 && echo "$a" >>"$T/pings") &
done <"$T/targets"
wait_pings() { # the subshells above, bounded by their timeout
	local i
	for ((i = 0; i < 250; i++)); do
		[ "$(wc -l <"$T/pings")" -ge 50 ] && return 0
		sleep 0.1
	done
	return 1
}
wait_pings
check "50 random hosts of the /16 answer ping ($(wc -l <"$T/pings") did)" [ "$(sort -u "$T/pings" | wc -l)" -eq 50 ]
neigh_right() { # each target in B's neighbour table with 02:00 + its address
	local a mac want
	while read -r a; do
		mac=$(ip -n "$NS_B" neigh show "$a" dev "$IF_B" | awk '{ print $3 }')
		want=$(echo "$a" | awk -F. '{ printf "02:00:%02x:%02x:%02x:%02x", $1, $2, $3, $4 }')
		[ "$mac" = "$want" ] || {
			echo "$a: neighbour '$mac', want $want"
			return 1
		}
	done <"$T/targets"
}
check "B's kernel learnt each host's own MAC by ARP" neigh_right
kill -INT "$UP"
wait "$UP"
rc=$?
check "umpa run exits 0 on SIGINT (rc $rc)" [ $rc -eq 0 ]
# the 50 and 10.99.255.253, the readiness probe
check "counters: 51 hosts, at least 51 echo replies, no errors" \
	[ "$(count_of "$T/live.json" echo.replies)" -ge 51 -a "$(count_of "$T/live.json" hosts)" -eq 51 -a "$(count_of "$T/live.json" errors)" -eq 0 ]
check "counters: per-host counters for exactly the 51 contacted hosts" \
	[ "$(grep -o '"host\.10\.99\.[0-9.]*\.tx"' "$T/live.json" | sort -u | wc -l)" -eq 51 ]

finish
