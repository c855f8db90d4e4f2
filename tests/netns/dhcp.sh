#!/usr/bin/env bash
# dhcp.sh - the dhcp-server template against busybox udhcpc, and its NAKs.
#
# Namespace A runs `umpa run dhcp-server` on its veth (server identifier
# 10.77.0.53, an address no kernel owns: the template answers ARP for it).
# In namespace B (its IPv4 address removed once the server answers ping) the real udhcpc gets a lease
# (DISCOVER, OFFER, REQUEST, ACK; the script it runs applies the address and
# records what it was told), renews it on SIGUSR1 (a unicast REQUEST through
# B's kernel, answered with an ACK to the leased address) and releases it on
# SIGUSR2 (the server frees it: a second client then gets the same address).
# Wrong requests get a NAK: a REQUEST for an address outside the pool
# (INIT-REBOOT) and one for an address that was not offered (SELECTING),
# both built with umpa in B.  The counters and umpa's -w capture show each
# exchange, and tshark dissects every DHCP packet umpa sent without a
# malformed or warning expert item.
# Needs root; skips (77) otherwise.  Bounded: every wait has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark udhcpc timeout pgrep

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir dhcp) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

netns_pair dhcp || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT

# wait_for FILE PATTERN [TENTHS]: until FILE has a line matching PATTERN (default 20 s)
wait_for() {
	local i
	for ((i = 0; i < ${3:-200}; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# udhcpc's script: record the event and what came with it, apply the lease
cat >"$T/script.sh" <<'EOF'
#!/bin/sh
echo "$1 ip=$ip mask=$mask router=$router dns=$dns serverid=$serverid lease=$lease domain=$domain" >>"$UDHCPC_LOG"
case $1 in
deconfig) ip -4 addr flush dev "$interface" ;;
bound | renew) ip addr replace "$ip/$mask" dev "$interface" ;; # (a flush would drop the neighbour table too)
esac
exit 0
EOF
chmod 755 "$T/script.sh"

ip netns exec "$NS_A" timeout 60 "$UMPA" run dhcp-server -i "$IF_A" --set pool=10.77.0.100-10.77.0.150 \
	--set server=10.77.0.53 --set router=10.77.0.1 --set dns=10.77.0.53,10.77.0.54 --set domain=umpa.test \
	--set lease=600 -w "$T/out.pcapng" --json >"$T/server.json" 2>"$T/server.err" &
SRV=$!
for _ in $(seq 100); do # loaded and capturing: the server answers ping (bounded: 10 s)
	in_b ping -n -c 1 -W 0.1 10.77.0.53 >/dev/null 2>&1 && break
done
ip -n "$NS_B" -4 addr flush dev "$IF_B"
ip -n "$NS_B" neigh flush dev "$IF_B"

# ---- a lease ----
UDHCPC_LOG=$T/events ip netns exec "$NS_B" timeout 40 udhcpc -f -i "$IF_B" -s "$T/script.sh" -t 10 -T 1 -A 1 \
	>"$T/udhcpc.out" 2>&1 &
CLI=$!
check "udhcpc gets a lease (bound)" wait_for "$T/events" '^bound'
bound=$(grep '^bound' "$T/events" | head -1)
echo "udhcpc: $bound"
check "the address is from the pool" sh -c "echo '$bound' | grep -Eq 'ip=10\.77\.0\.(1[0-4][0-9]|150) '"
check "mask, router, DNS, server id, lease time and domain as configured" \
	sh -c "echo '$bound' | grep -q 'mask=24 router=10.77.0.1 dns=10.77.0.53 10.77.0.54 serverid=10.77.0.53 lease=600 domain=umpa.test'"
leased=$(echo "$bound" | sed -n 's/.* ip=\([0-9.]*\) .*/\1/p')
check "B's kernel has the leased address" sh -c "ip -n '$NS_B' -4 addr show dev '$IF_B' | grep -q 'inet $leased/24'"

# ---- renew: SIGUSR1, a unicast REQUEST from the leased address to the server ----
pid=$(pgrep -P $CLI udhcpc || echo $CLI)
kill -USR1 "$pid"
check "udhcpc renews on SIGUSR1 (renew)" wait_for "$T/events" '^renew'
check "the renewed lease is the same address" grep -q "^renew ip=$leased " "$T/events"

# ---- release: SIGUSR2, a unicast RELEASE; the server frees the address ----
kill -USR2 "$pid"
check "udhcpc releases on SIGUSR2 (server logs it)" wait_for "$T/server.err" "released $leased"
kill -TERM "$pid" 2>/dev/null
wait $CLI 2>/dev/null

# a second client (another MAC) gets the freed address: the pool starts at .100 and
# the first client's lease is gone
ip -n "$NS_B" link set "$IF_B" address 02:00:00:00:b2:02
: >"$T/events2"
UDHCPC_LOG=$T/events2 ip netns exec "$NS_B" timeout 30 udhcpc -f -q -n -i "$IF_B" -s "$T/script.sh" -t 10 -T 1 \
	>"$T/udhcpc2.out" 2>&1
check "a second client gets the released address ($leased)" grep -q "^bound ip=$leased " "$T/events2"

# ---- wrong requests: NAK ----
# build_req TYPE CIADDR OPTIONS-LUA: a BOOTREQUEST from MAC 02:00:00:00:b2:03 as a packet expression
build_req() {
	cat <<EOF
local mac = "\2\0\0\0\178\3"
local opts = ${3}
local body = string.pack(">BBBBI4I2I2I4I4I4I4", 1, 1, 6, 0, 0x1234abcd, 0, 0x8000, $2, 0, 0, 0) ..
  mac .. string.rep("\0", 10 + 64 + 128) .. string.pack(">I4", 0x63825363) .. "\53\1" .. string.char($1) ..
  opts .. "\255"
return ether{src = "02:00:00:00:b2:03", dst = "ff:ff:ff:ff:ff:ff"}/
  ip{src = "0.0.0.0", dst = "255.255.255.255"}/udp{sport = 68, dport = 67}/body
EOF
}
# INIT-REBOOT for an address outside the pool
build_req 3 0 '"\50\4\10\66\0\9"' >"$T/nak1.lua"
# SELECTING (our server id) for a pool address nobody offered this client
build_req 3 0 '"\54\4\10\77\0\53" .. "\50\4\10\77\0\149"' >"$T/nak2.lua"
# INFORM from an address the client configured itself
build_req 8 0x0a4d00c8 '""' >"$T/inform.lua"
for f in nak1 nak2 inform; do
	in_b "$UMPA" send -i "$IF_B" -f "$T/$f.lua" >/dev/null 2>"$T/$f.err" || echo "send $f: $(cat "$T/$f.err")"
	sleep 0.3
done
check "two NAKs counted" wait_for "$T/server.err" "nak 02:00:00:00:b2:03 address 10.77.0.149"
check "the NAK for an address off the network is logged" grep -q "nak 02:00:00:00:b2:03 address 10.66.0.9 is not yours" "$T/server.err"

kill -INT $SRV
wait $SRV
rc=$?
check "umpa run dhcp-server exits 0 on SIGINT (rc $rc)" [ $rc -eq 0 ]
cat "$T/server.json"
count_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/server.json" | tail -1; }
check "counters: discover, offer (2 clients)" [ "$(count_of dhcp.discover)" -ge 2 -a "$(count_of dhcp.offer)" -ge 2 ]
check "counters: request and ack: lease, renew, second lease, inform" \
	[ "$(count_of dhcp.request)" -ge 5 -a "$(count_of dhcp.ack)" -ge 4 ]
check "counters: 1 release, 1 inform, 2 naks, no errors" \
	[ "$(count_of dhcp.release)" -eq 1 -a "$(count_of dhcp.inform)" -eq 1 -a "$(count_of dhcp.nak)" -eq 2 -a "$(count_of errors)" -eq 0 ]
check "ARP for the server answered (renew and release are unicast)" [ "$(count_of arp.replies)" -ge 1 ]

# ---- the capture: every exchange, every DHCP packet umpa sent dissected cleanly ----
tshark -r "$T/out.pcapng" -Y dhcp -T fields -e frame.number -e ip.src -e ip.dst -e dhcp.option.dhcp \
	-e dhcp.ip.your -e frame.comment >"$T/dhcp.txt" 2>/dev/null
cat "$T/dhcp.txt"
sent() { awk -F'\t' -v t="$1" '$2 == "10.77.0.53" && $4 == t' "$T/dhcp.txt" | wc -l; }
check "capture: DISCOVER (1) and OFFER (2) replying to it" \
	sh -c "grep -qP '\t1\t' '$T/dhcp.txt' && [ $(sent 2) -ge 2 ] && awk -F'\t' '\$4 == 2' '$T/dhcp.txt' | grep -q 'reply to frame'"
check "capture: REQUESTs (3) and ACKs (5), the renew's ACK unicast to $leased" \
	sh -c "[ $(sent 5) -ge 4 ] && awk -F'\t' '\$2 == \"10.77.0.53\" && \$3 == \"$leased\" && \$4 == 5' '$T/dhcp.txt' | grep -q ."
check "capture: the RELEASE (7) from $leased" sh -c "awk -F'\t' '\$2 == \"$leased\" && \$4 == 7' '$T/dhcp.txt' | grep -q ."
check "capture: 2 NAKs (6), broadcast" [ "$(awk -F'\t' '$2 == "10.77.0.53" && $3 == "255.255.255.255" && $4 == 6' "$T/dhcp.txt" | wc -l)" -eq 2 ]
nsent=$(tshark -r "$T/out.pcapng" -Y 'ip.src == 10.77.0.53 && udp.srcport == 67' 2>/dev/null | wc -l)
# expert items at note level (0x00400000) and above: note, warning, error (frame comments are below)
ndhcp=$(tshark -r "$T/out.pcapng" -Y 'ip.src == 10.77.0.53 && dhcp && !_ws.malformed && !(_ws.expert.severity >= 4194304)' 2>/dev/null | wc -l)
echo "umpa sent $nsent DHCP packets; tshark dissects $ndhcp as DHCP with no note, warning or error"
check "tshark: every DHCP packet umpa sent is DHCP, not malformed, no expert note/warning/error" \
	[ "$nsent" -ge 8 -a "$nsent" -eq "$ndhcp" ]
check "tshark: no malformed frame in the whole capture" sh -c "[ -z \"\$(tshark -r '$T/out.pcapng' -Y _ws.malformed 2>/dev/null)\" ]"

# ---- offline: the live run's capture through the server again gives the same answers ----
for k in 1 2; do
	"$UMPA" run dhcp-server --offline "$T/out.pcapng" --set pool=10.77.0.100-10.77.0.150 --set server=10.77.0.53 \
		--set router=10.77.0.1 --set dns=10.77.0.53,10.77.0.54 --set domain=umpa.test --set lease=600 \
		-w "$T/off$k.pcapng" >/dev/null 2>&1
done
check "offline: two runs byte-identical" cmp -s "$T/off1.pcapng" "$T/off2.pcapng"
answers() { # FILE: the DHCP answers umpa sent (commented replies), as fields
	tshark -r "$1" -Y 'ip.src == 10.77.0.53 && dhcp && frame.comment contains "reply to"' -T fields \
		-e ip.dst -e dhcp.id -e dhcp.option.dhcp -e dhcp.ip.your -e dhcp.ip.client -e dhcp.option.value 2>/dev/null | sort
}
answers "$T/out.pcapng" >"$T/live.ans"
answers "$T/off1.pcapng" >"$T/off.ans"
check "offline: the same DHCP answers as live ($(wc -l <"$T/live.ans") of them)" \
	sh -c "[ \$(wc -l <'$T/live.ans') -ge 8 ] && cmp -s '$T/live.ans' '$T/off.ans'"

finish
