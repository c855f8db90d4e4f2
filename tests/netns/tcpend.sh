#!/usr/bin/env bash
# tcpend.sh - the one-sided userland TCP endpoint (sched/umpa_tcpend.h) against the real Linux kernel.
#
# Namespace A runs tests/netns/tcpend_peer on veth-a with an address A's own
# kernel does not have (10.77.0.50 / fd00:77::50: A's kernel drops what is
# sent there, it neither answers nor resets); namespace B's kernel reaches it
# through a static neighbour entry.  B's transmit checksum offload is off, so
# the captured segments carry their real checksums.
#  1. B's socat connects to the endpoint (listening, echoing): 1 MB up and
#     back, SHA-256 equal, IPv4 and IPv6; with 5 % of the segments dropped
#     each way by the endpoint's driver, so both sides retransmit.
#     tshark reads the endpoint's capture: checksums good, nothing malformed.
#  2. The endpoint connects to B's socat echo server (`EXEC:cat`), sends 1 MB
#     and shuts down at once (a half-close: the echo keeps coming after its
#     FIN), 5 % dropped each way; the echo comes back intact.
#  3. A kernel server that reads nothing for 2 s: its window shuts, the
#     endpoint probes it and finishes once it opens; 4 MB arrive intact.
#  4. Connecting to a closed port: the kernel's RST ends it with an error.
# Needs root; skips (77) otherwise.  Every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PEER=${TCPEND_PEER:-$top_builddir/tests/netns/tcpend_peer}
case $PEER in /*) ;; *) PEER=$(pwd)/$PEER ;; esac
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools socat ethtool tshark sha256sum timeout
[ -x "$PEER" ] || {
	echo "FAIL: $PEER not built"
	exit 1
}

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir tcpend) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair tcpend || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
V4=10.77.0.50
V6=fd00:77::50
in_b ethtool -K "$IF_B" tx off >/dev/null 2>&1 || in_b ethtool -K "$IF_B" tx-checksumming off >/dev/null
in_b ip neigh replace $V4 lladdr "$MAC_A" dev "$IF_B" nud permanent
in_b ip -6 neigh replace $V6 lladdr "$MAC_A" dev "$IF_B" nud permanent
head -c 1048576 /dev/urandom >"$T/in"
SUM=$(sha256sum <"$T/in" | cut -d' ' -f1)

same() { [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$SUM" ]; }

# wait_listen PORT: until B's socat listens (5 s at most)
wait_listen() {
	local i
	for i in $(seq 1 100); do
		in_b ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN && return 0
		sleep 0.05
	done
	return 1
}

# Bidirectional: B's socat sends the file and writes what comes back.
kernel_echo_through_ep() {
	local fam=$1 drop=$2 tag=$3 local_ip remote_ip target
	if [ "$fam" = 4 ]; then local_ip=$V4 remote_ip=$IP_B target=$V4; else local_ip=$V6 remote_ip=$IP6_B target="[$V6]"; fi
	in_a timeout 60 "$PEER" "$IF_A" listen "$local_ip" 8080 "$MAC_A" "$remote_ip" 0 "$MAC_B" echo=1 \
		out="$T/srv-$tag" drop="$drop" seed=11 timeout=50 pcap="$T/ep-$tag.pcap" >"$T/peer-$tag.txt" 2>&1 &
	local pid=$!
	sleep 0.3
	in_b timeout 60 socat -t 30 -T 40 OPEN:"$T/in"'!!'OPEN:"$T/back-$tag",creat,trunc TCP$fam:"$target":8080 \
		2>"$T/socat-$tag.err"
	local src=$?
	wait $pid
	local rc=$?
	echo "    endpoint ($tag): $(tr '\n' ' ' <"$T/peer-$tag.txt")"
	[ $src -eq 0 ] || echo "    socat: $(head -c 300 "$T/socat-$tag.err")"
	[ $src -eq 0 ] && [ $rc -eq 0 ]
}

# wire_ok PCAP: tshark verifies every IP and TCP checksum and finds nothing malformed, in 700+ frames
# (the payload is random bytes: port 8080 is decoded as data, not HTTP)
wire_ok() {
	local bad total
	bad=$(tshark -r "$1" -d tcp.port==8080,data -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-Y '_ws.malformed || tcp.checksum.status == 0 || ip.checksum.status == 0' 2>/dev/null | wc -l)
	total=$(tshark -r "$1" 2>/dev/null | wc -l)
	[ "$bad" = 0 ] && [ "$total" -gt 700 ] && return 0
	echo "    ($1: $bad bad of $total frames)"
	return 1
}

for fam in 4 6; do
	for drop in 0 0.05; do
		tag=k$fam-$drop
		check "IPv$fam kernel client -> endpoint echo server, ${drop} dropped each way: runs to the end" \
			kernel_echo_through_ep $fam $drop $tag
		check "IPv$fam $tag: the endpoint received the 1 MB intact" same "$T/srv-$tag"
		check "IPv$fam $tag: the kernel got its 1 MB back intact" same "$T/back-$tag"
		if [ "$drop" != 0 ]; then
			check "IPv$fam $tag: the endpoint retransmitted" \
				grep -Eq 'retransmits [1-9]' "$T/peer-$tag.txt"
		fi
		check "IPv$fam $tag: tshark finds good checksums and nothing malformed in the endpoint's capture" \
			wire_ok "$T/ep-$tag.pcap"
	done
done

# the endpoint connects to B's kernel: an echo server (socat EXEC:cat)
ep_to_kernel() {
	local fam=$1 drop=$2 tag=$3 local_ip remote_ip lis
	if [ "$fam" = 4 ]; then local_ip=$V4 remote_ip=$IP_B lis=TCP4-LISTEN:9090,bind=$IP_B; else
		local_ip=$V6 remote_ip=$IP6_B lis=TCP6-LISTEN:9090,bind=[$IP6_B]; fi
	in_b timeout 60 socat -T 40 "$lis",reuseaddr EXEC:cat 2>"$T/srv-$tag.err" &
	local spid=$!
	wait_listen 9090 || { echo "    (socat did not listen)"; return 1; }
	in_a timeout 60 "$PEER" "$IF_A" connect "$local_ip" 40123 "$MAC_A" "$remote_ip" 9090 "$MAC_B" \
		send="$T/in" out="$T/cli-$tag" drop="$drop" seed=12 timeout=50 >"$T/peer-$tag.txt" 2>&1
	local rc=$?
	wait $spid
	echo "    endpoint ($tag): $(tr '\n' ' ' <"$T/peer-$tag.txt")"
	[ $rc -eq 0 ]
}

for fam in 4 6; do
	tag=e$fam
	check "IPv$fam endpoint client -> kernel echo server, 5% dropped each way: runs to the end" \
		ep_to_kernel $fam 0.05 $tag
	check "IPv$fam $tag: 1 MB came back intact" same "$T/cli-$tag"
done

# zero window: B's server reads nothing for 2 s, so its kernel shuts the window; the endpoint probes
# it (backed off from the 200 ms RTO) and goes on when the window opens; 4 MB arrive intact
zero_window() {
	head -c 4194304 /dev/urandom >"$T/in4"
	in_b timeout 60 socat -u TCP4-LISTEN:9092,bind=$IP_B,reuseaddr,rcvbuf=65536 \
		SYSTEM:"sleep 2; cat >'$T/zw-out'" 2>"$T/zw-srv.err" &
	local spid=$!
	wait_listen 9092 || { echo "    (socat did not listen)"; return 1; }
	in_a timeout 60 "$PEER" "$IF_A" connect $V4 40125 "$MAC_A" "$IP_B" 9092 "$MAC_B" send="$T/in4" \
		timeout=50 >"$T/zw.txt" 2>&1
	local rc=$?
	wait $spid
	echo "    endpoint (zero window): $(tr '\n' ' ' <"$T/zw.txt")"
	[ $rc -eq 0 ] && cmp -s "$T/in4" "$T/zw-out" && grep -Eq 'probes [1-9]' "$T/zw.txt"
}
check "IPv4 endpoint client -> kernel server that does not read for 2 s: window probes, then 4 MB intact" \
	zero_window

# a closed port on B: the kernel answers the SYN with RST+ACK, the endpoint reports it
in_a timeout 20 "$PEER" "$IF_A" connect $V4 40124 "$MAC_A" "$IP_B" 9 "$MAC_B" timeout=10 >"$T/rst.txt" 2>&1
rc=$?
check "connecting to a closed port ends with the kernel's reset (exit 1, 'reset')" \
	bash -c "[ $rc -eq 1 ] && grep -q 'connection reset' '$T/rst.txt'"

finish
