#!/usr/bin/env bash
# run.sh - `umpa run`: the icmp-host template against real kernels, offline replay, bad input.
#
# Live: namespace A runs `umpa run icmp-host -i veth-a --set ip=10.77.0.50
# --set ip6=fd00:77::50 -w out.pcapng`; neither kernel owns those addresses.
# From namespace B the real ping, ping -6 and arping must succeed; tcpdump in
# B records the exchange; tshark reads umpa's capture (no malformed frames,
# every reply commented with the frame it answers).
# Offline: the tcpdump recording through `umpa run icmp-host --offline` twice
# gives byte-identical files whose replies equal (field by field) what the
# live run sent; a week-long input with an every(3600) template ticks 168
# times in seconds.  Bad input: syntax error, unknown field, unknown and
# mistyped parameters, missing template: one line each, exit 1 or 2; a
# failing callback is counted and logged, and --strict turns it into exit 1.
# Needs root; skips (77) otherwise.  Bounded: every wait has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark tcpdump ping arping timeout pgrep

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir run) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

# ---- offline and bad input first (no namespaces needed) ----

# one_line FILE PATTERN: FILE is one line and matches PATTERN
one_line() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q -- "$2" "$1"; }

# A week of virtual time: two packets 604800 s apart, a timer every hour.
"$UMPA" build --pcapng --time 1700000000 --interval 604800 -w "$T/week.pcapng" \
	'ether{}/ip{src="10.1.0.1", dst="10.1.0.2"}/udp{sport=1, dport=2}' \
	'ether{}/ip{src="10.1.0.1", dst="10.1.0.2"}/udp{sport=1, dport=2}' >/dev/null 2>&1
cat >"$T/ticks.lua" <<'EOF'
-- ticks: counts hourly ticks
local first
every(3600, function()
  count("ticks")
  first = first or now()
end)
on("udp", function(p) count("udp") end)
EOF
start=$(date +%s%N)
timeout 60 "$UMPA" run "$T/ticks.lua" --offline "$T/week.pcapng" --json >"$T/ticks.json" 2>"$T/ticks.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
echo "week of hourly ticks offline: ${ms} ms"
check "a week of every(3600) offline: exit 0" [ $rc -eq 0 ]
check "168 ticks in a week" grep -q '"ticks":168' "$T/ticks.json"
check "both packets seen" grep -q '"udp":2' "$T/ticks.json"
check "the week took under 10 s" [ $ms -lt 10000 ]

# bad input: one line each
printf 'on("icmp", function(p)\n  x = = 1\nend)\n' >"$T/syntax.lua"
"$UMPA" run "$T/syntax.lua" --offline "$T/week.pcapng" >/dev/null 2>"$T/e1"
rc=$?
check "syntax error: exit 1" [ $rc -eq 1 ]
check "syntax error: one line naming file:line" one_line "$T/e1" 'syntax.lua:2:' 

printf -- '-- x\n\non("icmp", {["ip.tll"] = 5}, function(p) end)\n' >"$T/field.lua"
"$UMPA" run "$T/field.lua" --offline "$T/week.pcapng" >/dev/null 2>"$T/e2"
rc=$?
check "unknown field: exit 1" [ $rc -eq 1 ]
check "unknown field: one line naming file:line and the field" one_line "$T/e2" "field.lua:3:.*unknown field 'ip.tll'"

"$UMPA" run icmp-host --offline "$T/week.pcapng" --set nosuch=1 >/dev/null 2>"$T/e3"
rc=$?
check "unknown parameter: exit 2" [ $rc -eq 2 ]
check "unknown parameter: one line naming it" one_line "$T/e3" "parameter 'nosuch'"

"$UMPA" run icmp-host --offline "$T/week.pcapng" --set ip=10.0.0 >/dev/null 2>"$T/e4"
rc=$?
check "mistyped parameter: exit 2" [ $rc -eq 2 ]
check "mistyped parameter: one line naming it and the type" one_line "$T/e4" "ip=10.0.0: parameter 'ip' wants an IPv4 address"

"$UMPA" run no-such-template --offline "$T/week.pcapng" >/dev/null 2>"$T/e5"
rc=$?
check "missing template: exit 2" [ $rc -eq 2 ]
check "missing template: one line naming it" one_line "$T/e5" "template 'no-such-template': not found"

"$UMPA" run icmp-host --offline "$T/nonexistent.pcap" >/dev/null 2>"$T/e6"
rc=$?
check "missing input: exit 1" [ $rc -eq 1 ]
check "missing input: one line naming the file" one_line "$T/e6" "nonexistent.pcap"

# a failing callback: counted, logged with file:line, the run goes on; --strict stops it
printf -- '-- fails\non("udp", function(p)\n  count("seen")\n  error("boom")\nend)\n' >"$T/fail.lua"
"$UMPA" run "$T/fail.lua" --offline "$T/week.pcapng" --json >"$T/f.json" 2>"$T/f.err"
rc=$?
check "failing callback: run goes on (exit 0)" [ $rc -eq 0 ]
check "failing callback: both packets handled, 2 errors counted" \
	sh -c "grep -q '\"seen\":2' '$T/f.json' && grep -q '\"errors\":2' '$T/f.json'"
check "failing callback: logged with file:line" sh -c "[ \$(grep -c 'error: .*fail.lua:4: boom' '$T/f.err') -eq 2 ]"
"$UMPA" run "$T/fail.lua" --offline "$T/week.pcapng" --strict --json >"$T/s.json" 2>"$T/s.err"
rc=$?
check "failing callback with --strict: exit 1" [ $rc -eq 1 ]
check "--strict: stopped at the first failure" grep -q '"seen":1' "$T/s.json"

# ---- live ----
netns_pair run || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT

ip netns exec "$NS_B" timeout 30 tcpdump -i "$IF_B" -U -w "$T/rec.pcap" -s 0 'icmp or icmp6 or arp' >/dev/null 2>"$T/tcpdump.err" &
TD=$!
# (--busy-poll 200: the run keeps polling after each packet; the probe run below sleeps at once)
ip netns exec "$NS_A" timeout 30 "$UMPA" run icmp-host -i "$IF_A" --set ip=10.77.0.50 --set ip6=fd00:77::50 \
	--busy-poll 200 -w "$T/out.pcapng" --json >"$T/live.json" 2>"$T/live.err" &
UP=$!
for _ in $(seq 50); do # both listening (bounded: 5 s)
	grep -q listening "$T/tcpdump.err" 2>/dev/null && break
	sleep 0.1
done
sleep 0.5

check "ping -c 5 10.77.0.50 (IPv4 echo, ARP by the kernel)" \
	in_b timeout 20 ping -n -c 5 -i 0.2 -W 2 10.77.0.50 >"$T/ping4.txt"
check "ping -6 -c 5 fd00:77::50 (neighbour discovery, IPv6 echo)" \
	in_b timeout 20 ping -6 -n -c 5 -i 0.2 -W 2 fd00:77::50 >"$T/ping6.txt"
check "arping -c 3 10.77.0.50" in_b timeout 20 arping -c 3 -w 10 -I "$IF_B" 10.77.0.50 >"$T/arping.txt"
check "ping: 5 received" grep -q '5 received' "$T/ping4.txt"
check "ping -6: 5 received" grep -q '5 received' "$T/ping6.txt"
# SIGUSR1: the counters now, the run goes on (timeout(1) is the parent of umpa)
kill -USR1 "$(pgrep -P $UP)"
sleep 0.5
check "SIGUSR1 prints the counters while running" sh -c "[ \$(grep -c '\"echo.replies\":5' '$T/live.json') -eq 1 ]"
kill -INT $UP
wait $UP
rc=$?
kill -INT $TD 2>/dev/null
wait $TD
check "umpa run exits 0 on SIGINT (rc $rc)" [ $rc -eq 0 ]
check "counters on exit too: 5 IPv4 echo replies" sh -c "[ \$(grep -c '\"echo.replies\":5' '$T/live.json') -eq 2 ]"
check "counters: 5 IPv6 echo replies" grep -q '"echo6.replies":5' "$T/live.json"
check "counters: no errors" grep -q '"errors":0' "$T/live.json"

tshark -r "$T/out.pcapng" -T fields -e frame.number -e frame.comment -e _ws.col.Info >"$T/out.txt" 2>/dev/null
check "tshark reads the capture, no malformed frames" \
	sh -c "[ -s '$T/out.txt' ] && [ -z \"\$(tshark -r '$T/out.pcapng' -Y _ws.malformed 2>/dev/null)\" ]"
check "5 echo replies, each commented with its request's frame" \
	sh -c "[ \$(grep -c 'reply to frame .*Echo (ping) reply' '$T/out.txt') -ge 5 ]"
check "5 IPv6 echo replies commented" sh -c "[ \$(grep -c 'reply to frame .*Echo (ping) reply id' '$T/out.txt') -ge 5 ]"
check "ARP replies commented (3 from arping)" sh -c "[ \$(grep -c 'reply to frame .*is at' '$T/out.txt') -ge 3 ]"
check "neighbour advertisement commented" grep -q 'reply to frame .*Neighbor Advertisement' "$T/out.txt"
# every comment's frame number names the request it answers: ids and sequence numbers agree
comments_point_at_requests() {
	local c id seq f req n=0
	while IFS=$'\t' read -r c id seq; do
		f=${c#reply to frame }
		f=${f%% *}
		req=$(tshark -r "$T/out.pcapng" -Y "frame.number==$f" -T fields -e icmp.type -e icmp.ident -e icmp.seq 2>/dev/null)
		[ "$req" = "8"$'\t'"$id"$'\t'"$seq" ] || return 1
		n=$((n + 1))
	done < <(tshark -r "$T/out.pcapng" -Y 'icmp.type==0' -T fields -e frame.comment -e icmp.ident -e icmp.seq 2>/dev/null)
	[ $n -ge 5 ]
}
check "reply comments point at their requests (ids and sequence numbers)" comments_point_at_requests

# ---- expect, live: the peer kernel answers one probe, an address nobody has stays silent ----
cat >"$T/probe.lua" <<'EOF'
-- probe: one exchange the peer answers, one it cannot
params{
  src = {type = "ipv4"}, dst = {type = "ipv4"}, silent = {type = "ipv4"},
  smac = {type = "mac"}, dmac = {type = "mac"}, iface = {type = "string"},
}
local function ping(to, id)
  return ether{src = param.smac, dst = param.dmac}/ip{src = param.src, dst = to}/icmp{id = id, seq = 1}
end
after(0.2, function()
  expect{send = ping(param.dst, 4242), timeout = 1,
    on = {{"icmp.type==0", function(a, rtt) count("up"); log("rtt", rtt) end}},
    on_timeout = function() count("down") end}
  expect{send = ping(param.silent, 4243), timeout = 0.3, retries = 1,
    on_reply = function() count("silent.answered") end,
    on_timeout = function(q) count("lost"); log("lost", q.ip.dst) end}
end)
on("icmp", {["icmp.type"] = "echo-reply"}, function(p, iface)
  if iface == param.iface then count("heard.on.iface") end
end)
after(1.5, stop)
EOF
ip netns exec "$NS_A" timeout 20 "$UMPA" run "$T/probe.lua" -i "$IF_A" --set src=$IP_A --set dst=$IP_B \
	--set silent=10.77.0.99 --set smac=$MAC_A --set dmac=$MAC_B --set iface=$IF_A -w "$T/probe.pcapng" --json \
	>"$T/probe.json" 2>"$T/probe.err"
rc=$?
check "expect live: exit 0 after stop()" [ $rc -eq 0 ]
check "rule callbacks get the interface a packet came in on" grep -q '"heard.on.iface":1' "$T/probe.json"
check "expect live: the kernel's answer claimed by the outcome" grep -q '"up":1' "$T/probe.json"
check "expect live: the silent address timed out after 2 tries" \
	sh -c "grep -q '\"lost\":1' '$T/probe.json' && grep -q '\"timeouts\":1' '$T/probe.json' && grep -q '\"tx\":3' '$T/probe.json'"
check "expect live: the timeout is logged with the request's frame" \
	grep -q 'exchange 2: no answer to frame 2 after 2 tries' "$T/probe.err"
tshark -r "$T/probe.pcapng" -T fields -e frame.number -e frame.comment -e _ws.col.Info >"$T/probe.txt" 2>/dev/null
check "expect live: the answer's comment names its request's frame" \
	grep -q 'answer to frame 1 (exchange 1, rtt' "$T/probe.txt"
check "expect live: the retransmission is marked" \
	grep -q 'exchange 2: try 2 after timeout (first sent as frame 2)' "$T/probe.txt"

# ---- offline replay of the recording ----
"$UMPA" run icmp-host --offline "$T/rec.pcap" --set ip=10.77.0.50 --set ip6=fd00:77::50 -w "$T/a.pcapng" \
	>"$T/o1.txt" 2>&1
rc1=$?
"$UMPA" run icmp-host --offline "$T/rec.pcap" --set ip=10.77.0.50 --set ip6=fd00:77::50 -w "$T/b.pcapng" \
	>"$T/o2.txt" 2>&1
rc2=$?
check "offline runs exit 0" [ $rc1 -eq 0 -a $rc2 -eq 0 ]
check "offline: two runs byte-identical" cmp -s "$T/a.pcapng" "$T/b.pcapng"
fields='-e eth.src -e eth.dst -e arp.opcode -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 -e ip.src -e ip.dst -e ip.ttl -e icmp.type -e icmp.ident -e icmp.seq -e data -e ipv6.src -e ipv6.dst -e icmpv6.type -e icmpv6.nd.na.target_address -e icmpv6.echo.identifier -e icmpv6.echo.sequence_number'
# shellcheck disable=SC2086
tshark -r "$T/out.pcapng" -Y 'frame.comment contains "reply to"' -T fields $fields 2>/dev/null | sort >"$T/live.rep"
# shellcheck disable=SC2086
tshark -r "$T/a.pcapng" -Y 'frame.comment contains "reply to"' -T fields $fields 2>/dev/null | sort >"$T/off.rep"
echo "replies: live $(wc -l <"$T/live.rep"), offline $(wc -l <"$T/off.rep")"
check "offline replies equal the live ones (fields)" sh -c "[ -s '$T/live.rep' ] && cmp -s '$T/live.rep' '$T/off.rep'"

# arp-responder on the same recording: one is-at per who-has for its address, with its MAC
"$UMPA" run arp-responder --offline "$T/rec.pcap" --set ip=10.77.0.50 --set mac=02:00:00:77:00:50 \
	-w "$T/arp.pcapng" --json >"$T/arp.json" 2>"$T/arp.err"
rc=$?
asked=$(tshark -r "$T/rec.pcap" -Y 'arp.opcode==1 && arp.dst.proto_ipv4==10.77.0.50' 2>/dev/null | wc -l)
told=$(tshark -r "$T/arp.pcapng" -Y 'frame.comment contains "reply to" && arp.opcode==2 && arp.src.hw_mac==02:00:00:77:00:50 && arp.src.proto_ipv4==10.77.0.50' 2>/dev/null | wc -l)
echo "arp-responder: $asked requests, $told replies"
check "arp-responder answers every who-has (offline, exit $rc)" [ $rc -eq 0 -a "$asked" -ge 3 -a "$asked" -eq "$told" ]
check "arp-responder counts them" grep -q "\"arp.replies\":$asked" "$T/arp.json"

finish
