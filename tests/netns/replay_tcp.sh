#!/usr/bin/env bash
# replay_tcp.sh - stateful TCP replay, the kernel-RST guard, --audit and --template (umpa replay, issue 12).
#
# Recorded with tcpdump in namespace A (10.77.0.1) against B's kernel
# (10.77.0.2): a socat echo service (data both ways) and a ping.  Each replay runs in a fresh
# namespace pair (same addresses and MACs, new kernels, no sockets): A's
# kernel owns 10.77.0.1 but has no socket for the replayed flows, so the
# replay must keep it from resetting them (nftables, removed at exit).
#  1. replayed against a fresh peer: every exchange matches, exit 0, the
#     guard is named and gone afterwards;
#  2. the port closed: the SYN's answer is now a RST, named, exit 1; B's
#     TTL 33: exactly the ping's and the SYN's answers differ (ip.ttl);
#  3. ten interleaved flows in one capture, replayed at once: all match;
#  4. --audit of the recording: everything answered, the SYN's RTT equal
#     to the time stamp difference tshark reads; copies with the SYN+ACK
#     removed, the echo reply removed, delayed by 2 s or changed (editcap,
#     mergecap): exactly those reported;
#  5. offline against the host template (tcp=PORT:echo, the recorded
#     peer's address and MAC, personality linux6: a current kernel's
#     SYN+ACK): matches; with the port closed it gives the same
#     verdicts as the live kernel did; with ttl=33 the ping's and the
#     SYNs' answers differ (its TCP services take the ttl too); twice the
#     same report.
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
PORT6=7006

# fresh: a new namespace pair with the same addresses and MACs (a fresh peer, and a fresh local kernel)
fresh() {
	netns_cleanup
	netns_pair replaytcp || return 1
	trap cleanup EXIT
	ip -n "$NS_A" link set "$IF_A" address $MACA
	ip -n "$NS_B" link set "$IF_B" address $MACB
	in_a ip neigh replace "$IP_B" lladdr $MACB dev "$IF_A" nud permanent
	in_b ip neigh replace "$IP_A" lladdr $MACA dev "$IF_B" nud permanent
	in_a ip -6 neigh replace "$IP6_B" lladdr $MACB dev "$IF_A" nud permanent
	in_b ip -6 neigh replace "$IP6_A" lladdr $MACA dev "$IF_B" nud permanent
}

# serve: B's echo service on $PORT (forks per connection): what the host template's tcp=PORT:echo does
serve() {
	in_b timeout 30 socat -T 10 TCP4-LISTEN:$PORT,bind=$IP_B,reuseaddr,fork,backlog=64 EXEC:cat 2>/dev/null &
	in_b timeout 30 socat -T 10 TCP6-LISTEN:$PORT6,bind=[$IP6_B],reuseaddr,fork,backlog=64 EXEC:cat 2>/dev/null &
	local i
	for i in $(seq 1 100); do
		[ "$(in_b ss -ltn "( sport = :$PORT or sport = :$PORT6 )" 2>/dev/null | grep -c LISTEN)" -eq 2 ] && return 0
		sleep 0.05
	done
	return 1
}

# record FILE NFLOWS [V6]: tcpdump in A while NFLOWS clients talk at once (and one ping; V6: one IPv6 client too)
record_once() {
	local f=$1 n=$2 v6=${3:-} i
	# not through in_a (a function: $! would be a subshell that passes no signal on)
	ip netns exec "$NS_A" timeout 30 tcpdump --immediate-mode -i "$IF_A" -U -w "$f" "tcp port $PORT or tcp port $PORT6 or icmp" 2>"$T/tcpdump.err" &
	local tp=$!
	for i in $(seq 1 100); do
		grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && break
		sleep 0.05
	done
	in_a ping -c 1 -W 2 "$IP_B" >/dev/null
	local pids=()
	for i in $(seq 1 "$n"); do
		(echo "client$i" | in_a timeout 20 socat -t 10 - TCP4:$IP_B:$PORT >"$T/cli$i.out" 2>&1) &
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null
	# the IPv6 conversation after the IPv4 ones: the checks below read the IPv4 SYN and SYN+ACK
	# as frames 3 and 4 (started together, the two SYNs came first in either order now and then)
	[ -z "$v6" ] || echo "client6" | in_a timeout 20 socat -t 10 - TCP6:[$IP6_B]:$PORT6 >"$T/cli6x.out" 2>&1
	sleep 0.2
	kill -INT $tp 2>/dev/null
	wait $tp 2>/dev/null
	# every client got its line back: each conversation is whole in the capture
	for i in $(seq 1 "$n"); do
		grep -q "^client$i\$" "$T/cli$i.out" || { echo "    (client $i: $(head -c 200 "$T/cli$i.out"))"; return 1; }
	done
	[ -z "$v6" ] || grep -q "^client6\$" "$T/cli6x.out" || { echo "    (IPv6 client: $(head -c 200 "$T/cli6x.out"))"; return 1; }
	[ -s "$f" ]
}

# record FILE NFLOWS [V6]: record_once until the capture is whole: one SYN per client, no
# retransmission, nothing dropped (a loaded machine can delay a SYN past its 1 s timer or
# drop frames in tcpdump's buffer; the recording is the test's input, not what is tested)
record() {
	local want=$2 try syns rex
	[ -z "${3:-}" ] || want=$((want + 1))
	for try in 1 2 3; do
		syns=- rex=-
		if record_once "$@"; then
			syns=$(tshark -r "$1" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
			rex=$(tshark -r "$1" -Y 'tcp.analysis.retransmission || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)
			[ "$syns" -eq "$want" ] && [ "$rex" -eq 0 ] && ! grep -q '[1-9][0-9]* packets* dropped by kernel' "$T/tcpdump.err" && return 0
		fi
		echo "    (recording $try: $syns SYNs for $want clients, $rex retransmitted or lost segments; recording again)"
		fresh && serve || return 1
	done
	return 1
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

# verdicts: "VERDICT #N" of each exchange line of a -v report, sorted (the order results settle in varies)
verdicts() { grep -E '^(matched|differing|missing|unexpected|unsent|gaveup|sent) ' | awk '{print $1, $2}' | sort; }

no_guard_left() { ! in_a nft list tables 2>/dev/null | grep -q umpa_replay; }

# 1. record one conversation, replay it against a fresh peer
fresh || { echo "FAIL: cannot create the namespace pair"; exit 1; }
serve || { echo "FAIL: socat did not listen"; exit 1; }
check "recorded one IPv4 and one IPv6 conversation and a ping" record "$T/one.pcap" 1 v6

fresh && serve
check "replayed against a fresh peer: every exchange matches, exit 0" \
	expect_exit 0 in_a timeout 60 "$UMPA" replay "$T/one.pcap" -i "$IF_A" --timeout 4
check "the output says how the kernel's RSTs were kept off (nftables), for both flows" \
	grep -q "RSTs on 2 replayed flow(s) .* nftables table inet umpa_replay_" <<<"$OUT"
check "the nftables table is gone after the replay" no_guard_left

# 2. the port closed: the SYN is answered with a RST
fresh
check "the port closed: exit 1" expect_exit 1 in_a timeout 60 "$UMPA" replay "$T/one.pcap" -i "$IF_A" --timeout 1 -v
check "the report names the SYNs' answers, now RSTs (tcp.flags SA -> RA), IPv4 and IPv6" \
	test "$(grep -c "tcp.flags SA -> RA" <<<"$OUT")" -eq 2
verdicts <<<"$OUT" >"$T/live-closed.v"

# B's kernel answers with TTL 33: the ping's and the SYN's answers differ in ip.ttl, nothing else
fresh && serve
in_b sysctl -qw net.ipv4.ip_default_ttl=33
check "TTL 33: exit 1" expect_exit 1 in_a timeout 60 "$UMPA" replay "$T/one.pcap" -i "$IF_A" --timeout 4 -v
check "TTL 33: the report names ip.ttl 64 -> 33" grep -q "ip.ttl 64 -> 33" <<<"$OUT"
verdicts <<<"$OUT" >"$T/live-ttl.v"
check "TTL 33: exactly the ping's and the SYN's answers differ" \
	test "$(grep -c '^differing' "$T/live-ttl.v")" -eq 2 -a "$(grep -vc '^differing\|^matched\|^sent' "$T/live-ttl.v")" -eq 0

# 3. ten interleaved flows
fresh && serve
check "recorded ten interleaved conversations" record "$T/ten.pcap" 10
check "the ten flows interleave in the capture" \
	test "$(tshark -r "$T/ten.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)" -eq 10
fresh && serve
check "ten flows replayed at once against a fresh peer: all match, exit 0" \
	expect_exit 0 in_a timeout 60 "$UMPA" replay "$T/ten.pcap" -i "$IF_A" --timeout 4 --json
check "JSON summary: no exchange differing or missing" \
	grep -Eq '"summary".*"differing":0,"missing":0' <<<"$OUT"

# 4. --audit of the recordings: no device, no root needed
check "--audit of the recording: every exchange answered, exit 0" expect_exit 0 "$UMPA" replay --audit "$T/one.pcap"
check "--audit of the ten flows: every exchange answered, exit 0" expect_exit 0 "$UMPA" replay --audit "$T/ten.pcap"
# the SYN (frame 3) and its SYN+ACK (frame 4): the RTT is their time stamp difference
rtt_ok() {
	local want got
	# from each frame's own time since the first (time_delta_displayed depends on tshark's passes)
	want=$(tshark -r "$T/one.pcap" -Y 'frame.number==3 || frame.number==4' -T fields \
		-e frame.time_relative 2>/dev/null | awk 'NR==1{a=$1} NR==2{printf "%.3f", ($1-a)*1e6}')
	got=$("$UMPA" replay --audit "$T/one.pcap" --json | grep '"frame":3,' | sed 's/.*"recorded_rtt_us":\([0-9.]*\).*/\1/')
	[ -n "$want" ] && [ "$got" = "$want" ] && return 0
	echo "    (SYN RTT: audit $got us, tshark $want us; frames 1-6: $(tshark -r "$T/one.pcap" -c 6 -T fields -e frame.number -e frame.time_relative -e _ws.col.Info 2>/dev/null | tr "\n\t" "; "))"
	return 1
}
check "--audit: the SYN's RTT equals the time stamp difference tshark reads" rtt_ok
# failing lines only (a report without -v prints only those)
fails() { grep -E '^(differing|missing|unexpected|unsent|gaveup) ' <<<"$OUT"; }
editcap "$T/one.pcap" "$T/nosa.pcap" 4
check "--audit, the SYN+ACK removed (editcap): exit 1" expect_exit 1 "$UMPA" replay --audit "$T/nosa.pcap"
check "--audit, the SYN+ACK removed: exactly the SYN reported, unanswered" \
	test "$(fails | wc -l)" -eq 1 -a "$(fails | grep -c '^missing *#2 frame 3 .*unanswered')" -eq 1
editcap "$T/one.pcap" "$T/noreply.pcap" 2
check "--audit, the echo reply removed: exactly the ping reported" \
	expect_exit 1 "$UMPA" replay --audit "$T/noreply.pcap"
check "--audit, the echo reply removed: one line, #1 unanswered" \
	test "$(fails | wc -l)" -eq 1 -a "$(fails | grep -c '^missing *#1 frame 1 ')" -eq 1
editcap -r "$T/one.pcap" "$T/p1.pcap" 1
editcap -r -t 2 "$T/one.pcap" "$T/p2.pcap" 2
editcap "$T/one.pcap" "$T/p3.pcap" 1-2
mergecap -w "$T/late.pcap" "$T/p1.pcap" "$T/p2.pcap" "$T/p3.pcap"
check "--audit, the echo reply 2 s late (editcap -t, mergecap): exit 1" expect_exit 1 "$UMPA" replay --audit "$T/late.pcap"
check "--audit, the echo reply late: exactly #1, answered late after 2000 ms" \
	test "$(fails | wc -l)" -eq 1 -a "$(fails | grep -c '^differing *#1 frame 1 .*-> 2000.0[0-9]* ms; answered late')" -eq 1
editcap -E 1 --seed 7 -o 38 "$T/p2.pcap" "$T/p2x.pcap" >/dev/null
editcap -r "$T/one.pcap" "$T/p2o.pcap" 2
editcap -E 1 --seed 7 -o 38 "$T/p2o.pcap" "$T/p2m.pcap" >/dev/null
mergecap -w "$T/changed.pcap" "$T/p1.pcap" "$T/p2m.pcap" "$T/p3.pcap"
check "--audit, the echo reply's id and sequence changed (editcap -E): exit 1" \
	expect_exit 1 "$UMPA" replay --audit "$T/changed.pcap"
check "--audit, the changed reply: only the ping (unanswered) and frame 2 (answers nothing) reported" \
	test "$(fails | wc -l)" -eq 2 -a "$(fails | grep -c '#1 frame 1 \|frame 2 answers no request')" -eq 2

# 5. the same capture offline against the host template: the same verdicts as live
HOST=(--template host --set ip=$IP_B --set ip6=$IP6_B --set mac=$MACB --set tcp=$PORT:echo,$PORT6:echo
	--set personality=linux6)
check "offline, host template as the peer was: every exchange matches, exit 0" \
	expect_exit 0 "$UMPA" replay "$T/one.pcap" "${HOST[@]}"
check "offline, host template with the port closed: exit 1" \
	expect_exit 1 "$UMPA" replay "$T/one.pcap" "${HOST[@]}" --set tcp=$PORT:closed,$PORT6:closed -v
verdicts <<<"$OUT" >"$T/tmpl-closed.v"
check "offline, port closed: the same verdicts as live" diff "$T/live-closed.v" "$T/tmpl-closed.v"
# host's ttl shapes everything it sends, its TCP services' segments too (and IPv6's hop limit,
# which the live kernel's ip_default_ttl left at 64)
check "offline, host template with TTL 33: exit 1" \
	expect_exit 1 "$UMPA" replay "$T/one.pcap" "${HOST[@]}" --set ttl=33 -v
check "offline, TTL 33: the ping's answer differs as live, ip.ttl 64 -> 33" \
	grep -q "^differing *#1 frame 1 .*ip.ttl 64 -> 33" <<<"$OUT"
check "offline, TTL 33: the SYNs' answers differ in ip.ttl / ipv6.hlim only, nothing else differs" \
	test "$(grep -c '^differing .*: ip.ttl 64 -> 33$' <<<"$OUT")" -eq 2 -a \
	"$(grep -c '^differing .*: ipv6.hlim 64 -> 33$' <<<"$OUT")" -eq 1 -a "$(grep -c '^differing' <<<"$OUT")" -eq 3
check "offline, deterministic: the same report twice" \
	test "$("$UMPA" replay "$T/one.pcap" "${HOST[@]}" --set ttl=33 --json 2>/dev/null | md5sum)" = \
	"$("$UMPA" replay "$T/one.pcap" "${HOST[@]}" --set ttl=33 --json 2>/dev/null | md5sum)"

finish
