#!/bin/bash
# sr_views.sh - what `umpa sr` reports for a scan or a traceroute, against the
# Linux kernel in network namespaces.
#
# A (umpa) -- veth -- B (answers; a router; socat listeners; iptables DROP /
# REJECT rules) -- veth -- C.
# Checks: a ping sweep over a prefix (dst="10.77.0.0/29") with dead hosts
# among live ones; the traceroute view through B; the port table (open,
# closed, filtered for TCP; open, closed, open|filtered for UDP); --ordered;
# RTTs equal to the kernel's time stamps as tcpdump records them, in text and
# JSON; --l3 without -i; -f SCRIPT.lua.  Needs root; < 60 s.
set -u
: "${UMPA:?UMPA is the umpa binary}" "${top_srcdir:=.}"
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
for t in socat iptables tcpdump /usr/bin/python3; do
	command -v "$t" >/dev/null || {
		echo "SKIP: $t is missing"
		exit 77
	}
done

netns_pair srv || {
	echo "FAIL: cannot create namespaces"
	exit 1
}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	netns_cleanup
	rm -rf "$TMP"
}
trap cleanup EXIT

NS_C="umpa-srv-$$-c"
ip netns add "$NS_C" && NS_CREATED+=("$NS_C")
ip -n "$NS_B" link add veth-bc type veth peer name veth-cb netns "$NS_C"
ip -n "$NS_B" addr add 10.78.0.1/24 dev veth-bc
ip -n "$NS_C" addr add 10.78.0.2/24 dev veth-cb
ip -n "$NS_B" link set veth-bc up
ip -n "$NS_C" link set veth-cb up
ip -n "$NS_C" link set lo up
ip -n "$NS_C" route add default via 10.78.0.1
ip netns exec "$NS_B" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
ip -n "$NS_A" route add 10.78.0.0/24 via 10.77.0.2
ip -n "$NS_B" addr add 10.77.0.3/24 dev "$IF_B"
ip -n "$NS_B" addr add 10.77.0.4/24 dev "$IF_B"

sr() { in_a timeout 30 "$UMPA" sr -i "$IF_A" "$@"; }

# $1 = file of sr --json output, $2 = python expression over S (summary) and X (exchanges)
jcheck() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
S = lines[-1]
X = lines[:-1]
def L(pkt, name):
    if pkt is None:
        return None
    ls = [l for l in pkt["layers"] if l["_layer"] == name and not l.get("_quoted")]
    return ls[0] if ls else None
ok = eval(sys.argv[2])
if not ok:
    print("   summary:", json.dumps(S)[:1500])
    for x in X[:3]:
        print("   exchange:", json.dumps(x)[:400])
sys.exit(0 if ok else 1)
EOF
}
has() { # FILE TEXT...: every TEXT is in FILE
	local f=$1 t
	shift
	for t in "$@"; do grep -qF -- "$t" "$f" || {
		echo "   missing: '$t'"
		return 1
	}; done
}

# ---- a ping sweep over a prefix: the live hosts answered, the rest unanswered with reasons ----
# B holds 10.77.0.2-4, A is 10.77.0.1; nobody has .0, .5, .6, .7
sr --json --timeout 1 'ip{dst="10.77.0.0/29"}/icmp{id=4500, seq=1}' >"$TMP/sweep.json" 2>"$TMP/sweep.err"
rc=$?
sed 's/^/   /' "$TMP/sweep.err"
check "dst=\"10.77.0.0/29\": 8 requests, one per address in order; .2-.4 answered" jcheck "$TMP/sweep.json" \
	"[L(x['request'], 'ip')['ip.dst'] for x in sorted(X, key=lambda x: x['no'])] == ['10.77.0.%d' % i for i in range(8)] and sorted(L(x['answer'], 'ip')['ip.src'] for x in X if x['answer']) == ['10.77.0.2', '10.77.0.3', '10.77.0.4'] and S['answered'] == 3"
check "... .0 and .5-.7 unanswered with the reason 'no answer to ARP who-has'" jcheck "$TMP/sweep.json" \
	"all(x['error'] == L(x['request'], 'ip')['ip.dst'] + ': no answer to ARP who-has (3 tries, 1 s apart)' or x['error'].startswith(L(x['request'], 'ip')['ip.dst'] + ': no answer to ARP who-has') for x in X if L(x['request'], 'ip')['ip.dst'] in ('10.77.0.0', '10.77.0.5', '10.77.0.6', '10.77.0.7'))"
check "... exit 1 (requests could not be sent)" test "$rc" -eq 1

sr --json --timeout 1 'ipv6{dst="fd00:77::/126"}/icmpv6{type=128, id=4510, seq=1}' >"$TMP/sweep6.json" 2>/dev/null
check "dst=\"fd00:77::/126\": 4 requests, fd00:77::2 answered, ::0 and ::3 unanswered (no neighbour advertisement)" jcheck "$TMP/sweep6.json" \
	"sorted(L(x['request'], 'ipv6')['ipv6.dst'] for x in X) == ['fd00:77::', 'fd00:77::1', 'fd00:77::2', 'fd00:77::3'] and [L(x['answer'], 'ipv6')['ipv6.src'] for x in X if x['answer']] == ['fd00:77::2'] and all('neighbour' in x['error'] for x in X if L(x['request'], 'ipv6')['ipv6.dst'] in ('fd00:77::', 'fd00:77::3'))"

# ---- traceroute view through B to C ----
sr --timeout 1 'ip{dst="10.78.0.2", ttl=range(1,3)}/icmp{id=4501, seq=1}' >"$TMP/trace.txt" 2>/dev/null
sed -n '/^Traceroute/,/^Sent/p' "$TMP/trace.txt" | sed 's/^/   /'
check "traceroute view (text): TTL 1 -> the router 10.77.0.2, TTL 2 and 3 -> 10.78.0.2 (destination)" \
	has "$TMP/trace.txt" "Traceroute to 10.78.0.2 (TTL: hop, RTT):" "    1  10.77.0.2  " "    2  10.78.0.2  " "    3  10.78.0.2  "
check "... only TTL 2 and 3 reached the destination" \
	bash -c "[ \$(grep -c '(destination)' '$TMP/trace.txt') -eq 2 ] && ! grep -q '    1  .*(destination)' '$TMP/trace.txt'"
sr --json --timeout 1 'ip{dst="10.78.0.2", ttl=range(1,3)}/icmp{id=4502, seq=1}' >"$TMP/trace.json" 2>/dev/null
check "traceroute view (JSON): the same hops, reached from TTL 2" jcheck "$TMP/trace.json" \
	"[(h['ttl'], h['hop'], h['reached']) for h in S['traceroute'][0]['hops']] == [(1, '10.77.0.2', False), (2, '10.78.0.2', True), (3, '10.78.0.2', True)] and S['traceroute'][0]['dst'] == '10.78.0.2' and all(h['rtt_us'] > 0 for h in S['traceroute'][0]['hops'])"
sr --json --timeout 1 'ip{dst="10.77.0.2"}/icmp{id=4503, seq=range(1,3)}' >"$TMP/notrace.json" 2>/dev/null
check "no traceroute view when the TTL does not vary" jcheck "$TMP/notrace.json" "'traceroute' not in S and S['answered'] == 3"

# ---- port table: socat listeners, a DROP and a REJECT rule in B ----
in_b timeout 40 socat TCP-LISTEN:8080,fork,reuseaddr /dev/null &
PIDS+=($!)
in_b timeout 40 socat UDP-RECVFROM:40404,fork PIPE &
PIDS+=($!)
in_b iptables -A INPUT -p tcp --dport 8082 -j DROP
in_b iptables -A INPUT -p tcp --dport 8083 -j REJECT --reject-with icmp-host-prohibited
in_b iptables -A INPUT -p udp --dport 40406 -j DROP
for _ in $(seq 50); do in_b ss -ltn | grep -q ':8080 ' && in_b ss -lun | grep -q ":40404 " && break; sleep 0.1; done
sr --timeout 1 'ip{dst="10.77.0.2"}/tcp{sport=41000, dport=range(8080,8083), flags="S"}' 'ip{dst="10.77.0.2"}/udp{sport=41001, dport=range(40404,40406)}/"ping"' >"$TMP/ports.txt" 2>/dev/null
sed -n '/^Ports/,/^Sent/p' "$TMP/ports.txt" | sed 's/^/   /'
check "port table (text): tcp open / closed / filtered (DROP) / filtered (REJECT), udp open / closed / open|filtered" \
	has "$TMP/ports.txt" "Ports of 10.77.0.2:" \
	"8080/tcp   open           syn-ack" "8081/tcp   closed         reset" \
	"8082/tcp   filtered       no-response" "8083/tcp   filtered       icmp-unreach" \
	"40404/udp  open           udp-response" "40405/udp  closed         port-unreach" \
	"40406/udp  open|filtered  no-response"
sr --json --timeout 1 'ip{dst="10.77.0.2"}/tcp{sport=41002, dport={8080, 8081, 8082}, flags="S"}' 'ip{dst="10.77.0.2"}/udp{sport=41003, dport={40404, 40405, 40406}}/"ping"' >"$TMP/ports.json" 2>/dev/null
check "port table (JSON): the same states and reasons" jcheck "$TMP/ports.json" \
	"[(p['port'], p['proto'], p['state'], p['reason']) for p in S['ports']] == [(8080, 'tcp', 'open', 'syn-ack'), (8081, 'tcp', 'closed', 'reset'), (8082, 'tcp', 'filtered', 'no-response'), (40404, 'udp', 'open', 'udp-response'), (40405, 'udp', 'closed', 'port-unreach'), (40406, 'udp', 'open|filtered', 'no-response')] and all(p['host'] == '10.77.0.2' for p in S['ports'])"
sr --timeout 1 'ip{dst="10.77.0.2"}/tcp{sport=41004, dport=range(7000,7099), flags="S"}' >"$TMP/many.txt" 2>/dev/null
check "100 closed ports: one 'Not shown' line, no row each" \
	bash -c "grep -qxF 'Not shown: 100 closed tcp ports (reset)' '$TMP/many.txt' && ! grep -q '^70[0-9][0-9]/tcp' '$TMP/many.txt'"

# ---- --ordered: the first request (to a DROPped port) settles last ----
EXPR='ip{dst="10.77.0.2"}/tcp{sport=41005, dport={8082, range(9000,9009)}, flags="S"}'
sr --json --timeout 1 "$EXPR" >"$TMP/stream.json" 2>/dev/null
check "streaming (default): exchanges print as they settle, the dropped request 1 last" jcheck "$TMP/stream.json" \
	"[x['no'] for x in X] == list(range(2, 12)) + [1]"
sr --json --ordered --timeout 1 "$EXPR" >"$TMP/ordered.json" 2>/dev/null
check "--ordered: in request order, 1 first" jcheck "$TMP/ordered.json" "[x['no'] for x in X] == list(range(1, 12)) and X[0]['answer'] is None"
sr --ordered --timeout 1 "$EXPR" >"$TMP/ordered.txt" 2>/dev/null
check "--ordered (text): #1 .. #11 in order" \
	bash -c "[ \"\$(grep -o '^#[0-9]*' '$TMP/ordered.txt' | tr '\n' ' ')\" = '#1 #2 #3 #4 #5 #6 #7 #8 #9 #10 #11 ' ]"

# ---- progress: every second on stderr with --progress (stderr is no terminal here) ----
sr --progress --timeout 2 "$EXPR" >/dev/null 2>"$TMP/progress.err"
sed 's/^/   /' "$TMP/progress.err"
check "--progress on a 2 s run: a line on stderr saying how far it is" \
	grep -qE '^umpa: sr: 11 of 11 sent, 10 settled: 10 answered, 0 lost, 0 not sent$' "$TMP/progress.err"
sr --timeout 2 "$EXPR" >/dev/null 2>"$TMP/noprogress.err"
check "... and none without --progress when stderr is not a terminal" test ! -s "$TMP/noprogress.err"

# ---- RTTs: the kernel's time stamps, the same ones tcpdump records; text and JSON alike ----
# --immediate-mode: without it tcpdump's ring hands packets over up to a second late;
# -c 20: it ends by itself after the 10 requests and 10 replies (kill would reach only
# the subshell of in_a, not tcpdump).
in_a timeout 20 tcpdump -i "$IF_A" -n -U --immediate-mode -c 20 --time-stamp-precision=nano -w "$TMP/rtt.pcap" icmp 2>/dev/null &
TCPDUMP=$!
PIDS+=($TCPDUMP)
for _ in $(seq 50); do [ -s "$TMP/rtt.pcap" ] && break; sleep 0.1; done
sleep 0.3
sr --timeout 1 'ip{dst="10.77.0.2"}/icmp{id=4600, seq=range(1,5)}' >"$TMP/rtt.txt" 2>/dev/null
sr --json --timeout 1 'ip{dst="10.77.0.2"}/icmp{id=4601, seq=range(1,5)}' >"$TMP/rtt.json" 2>/dev/null
wait "$TCPDUMP" 2>/dev/null
/usr/bin/python3 - "$TMP/rtt.pcap" >"$TMP/oracle.txt" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", d[:4])[0]
scale = 1 if magic == 0xa1b23c4d else 1000
off, req = 24, {}
while off + 16 <= len(d):
    s, f, cl, wl = struct.unpack("<IIII", d[off:off + 16])
    p = d[off + 16:off + 16 + cl]
    off += 16 + cl
    t = s * 10**9 + f * scale
    icmp = p[14 + (p[14] & 15) * 4:]
    typ, ident, seq = icmp[0], *struct.unpack(">HH", icmp[4:8])
    if typ == 8:
        req[(ident, seq)] = t
    elif typ == 0 and (ident, seq) in req:
        print(ident, seq, t - req[(ident, seq)], req[(ident, seq)])
EOF
sed 's/^/   tcpdump: id seq rtt_ns sent_ns: /' "$TMP/oracle.txt"
check "text RTTs = tcpdump's reply minus request time stamps (to the printed microsecond)" /usr/bin/python3 -c "
import re
o = {(int(a), int(b)): int(c) for a, b, c, _ in (l.split() for l in open('$TMP/oracle.txt')) if a == '4600'}
t = re.findall(r'#\d+ .*?seq (\d+).*?\n.*?rtt ([0-9.]+) ms', open('$TMP/rtt.txt').read())
print('   umpa text (seq, ms):', t)
ok = len(o) == 5 and len(t) == 5 and all(abs(float(ms) * 1e6 - o[(4600, int(q))]) <= 500 for q, ms in t)
raise SystemExit(0 if ok else 1)"
check "JSON RTTs = tcpdump's, to the nanosecond; rtt_from kernel; request time = tcpdump's send time" /usr/bin/python3 -c "
import json
o = {(int(a), int(b)): (int(c), int(d)) for a, b, c, d in (l.split() for l in open('$TMP/oracle.txt')) if a == '4601'}
X = [json.loads(l) for l in open('$TMP/rtt.json')][:-1]
def icmp(p): return [l for l in p['layers'] if l['_layer'] == 'icmp'][0]
ns = lambda s: int(s.split('.')[0]) * 10**9 + int(s.split('.')[1])
ok = len(o) == 5 and len(X) == 5
for x in X:
    k = (icmp(x['request'])['icmp.ident'], icmp(x['request'])['icmp.seq'])
    rtt, sent = o[k]
    print('   umpa json', k, x['rtt_us'], x['rtt_from'], 'tcpdump', rtt / 1000)
    ok = ok and abs(x['rtt_us'] * 1000 - rtt) <= 1 and x['rtt_from'] == 'kernel' and ns(x['request']['frame.time_epoch']) == sent
    ok = ok and abs(ns(x['answer']['frame.time_epoch']) - ns(x['request']['frame.time_epoch']) - x['rtt_us'] * 1000) <= 1
raise SystemExit(0 if ok else 1)"
# nping's summary: loss and RTT min/avg/max are those of the exchanges (JSON) and the text says the same
check "summary (JSON): 0 lost, rtt_min/avg/max_us = min/avg/max of the 5 exchanges' rtt_us" jcheck "$TMP/rtt.json" \
	"S['sent'] == 5 and S['lost'] == 0 and abs(S['rtt_min_us'] - min(x['rtt_us'] for x in X)) < 0.002 and abs(S['rtt_max_us'] - max(x['rtt_us'] for x in X)) < 0.002 and abs(S['rtt_avg_us'] - sum(x['rtt_us'] for x in X) / 5) < 0.002"
check "summary (text): 'lost 0 (0.0%)' and 'RTT min/avg/max' = min/avg/max of the 5 printed RTTs" /usr/bin/python3 -c "
import re
t = open('$TMP/rtt.txt').read()
r = [float(x) for x in re.findall(r'rtt ([0-9.]+) ms', t)]
m = re.search(r'RTT min/avg/max: ([0-9.]+)/([0-9.]+)/([0-9.]+) ms', t)
print('   umpa text RTTs', r, 'summary', m and m.groups())
ok = len(r) == 5 and 'lost 0 (0.0%)' in t and m and abs(float(m.group(1)) - min(r)) < 0.002 and abs(float(m.group(3)) - max(r)) < 0.002 and abs(float(m.group(2)) - sum(r) / 5) < 0.002
raise SystemExit(0 if ok else 1)"

# ---- --l3 without -i; -f SCRIPT.lua ----
in_a timeout 30 "$UMPA" sr --l3 --json --timeout 1 'ip{dst="10.78.0.2"}/icmp{id=4700, seq=range(1,2)}' >"$TMP/l3.json" 2>"$TMP/l3.err"
rc=$?
sed 's/^/   /' "$TMP/l3.err"
check "--l3 without -i: the kernel routes, both answered from C (exit $rc)" jcheck "$TMP/l3.json" \
	"S['answered'] == 2 and all(L(x['answer'], 'ip')['ip.src'] == '10.78.0.2' for x in X)"
cat >"$TMP/probe.lua" <<'EOF'
-- a script returns the requests: two pings and a SYN to the open port
local t = {}
for seq = 1, 2 do t[#t + 1] = ip{dst="10.77.0.2"}/icmp{id=4701, seq=seq} end
t[#t + 1] = ip{dst="10.77.0.2"}/tcp{sport=41010, dport=8080, flags="S"}
return t
EOF
sr --json --timeout 1 -f "$TMP/probe.lua" 'ip{dst="10.77.0.3"}/icmp{id=4702}' >"$TMP/script.json" 2>/dev/null
check "-f SCRIPT.lua: the script's 3 requests and the expression's one, all answered" jcheck "$TMP/script.json" \
	"S['sent'] == 4 and S['answered'] == 4 and [x for x in S['ports'] if x['state'] == 'open'][0]['port'] == 8080"
in_a "$UMPA" sr -f "$TMP/nosuch.lua" -i "$IF_A" >/dev/null 2>"$TMP/err"
rc=$?
check "-f with a missing script: one line naming it, exit 1" \
	bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'nosuch.lua: cannot open' '$TMP/err'"
in_a "$UMPA" sr 'ip{dst="10.77.0.2"}/icmp{}' >/dev/null 2>"$TMP/err"
rc=$?
check "no -i and no --l3: usage error naming both, exit 2" bash -c "[ $rc -eq 2 ] && grep -q -- '--l3' '$TMP/err'"
in_a "$UMPA" sr -i "$IF_A" 'ip{dst="10.0.0.0/8"}/icmp{}' >/dev/null 2>"$TMP/err"
rc=$?
check "a /8 meets the packet cap: one line, exit 1" \
	bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'expands to more than 1000000 packets (16777216)' '$TMP/err'"

finish
