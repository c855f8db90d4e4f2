#!/bin/bash
# sr.sh - `umpa sr` against the Linux kernel in network namespaces.
#
# A (umpa) -- veth -- B (the kernel answers; also a router) -- veth -- C.
# Checks: ARP, ICMP echo, IPv6 NS/NA, ICMPv6 echo, TCP SYN to an open port
# (socat listening) and a closed one, UDP to a closed port answered by the
# port unreachable that quotes it, 10,000 exchanges in flight all matched to
# their own request, a traceroute through B, --l3 through the kernel's
# routing, dead hosts among live ones (reported, the rest matched), and bad input (one line on stderr, exit 1).  Needs root; < 60 s.
set -u
: "${UMPA:?UMPA is the umpa binary}" "${top_srcdir:=.}"
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
for t in socat /usr/bin/python3; do
	command -v "$t" >/dev/null || {
		echo "SKIP: $t is missing"
		exit 77
	}
done

netns_pair sr || {
	echo "FAIL: cannot create namespaces"
	exit 1
}
. "$(dirname "$0")/../tmpdir.sh"
TMP=$(umpa_tmpdir sr) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$TMP"
}
trap cleanup EXIT

# the third namespace C behind B, and B as a router between 10.77.0.0/24 and 10.78.0.0/24
NS_C="umpa-sr-$$-c"
ip netns add "$NS_C" && NS_CREATED+=("$NS_C")
ip -n "$NS_B" link add veth-bc type veth peer name veth-cb netns "$NS_C"
ip -n "$NS_B" addr add 10.78.0.1/24 dev veth-bc
ip -n "$NS_C" addr add 10.78.0.2/24 dev veth-cb
ip -n "$NS_B" link set veth-bc up
ip -n "$NS_C" link set veth-cb up
ip -n "$NS_C" link set lo up
ip -n "$NS_C" route add default via 10.78.0.1
ip netns exec "$NS_B" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
ip -n "$NS_A" route add 10.78.0.0/24 via 10.77.0.2

sr() { in_a timeout 30 "$UMPA" sr -i "$IF_A" "$@"; }

# jq-free JSON checks with the system python: $1 = file, $2 = python expression over S (summary) and X (exchanges)
jcheck() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
S = lines[-1]
X = lines[:-1]
def L(pkt, name):
    """the first layer called name (quoted ones last) of a rendered packet"""
    if pkt is None:
        return None
    ls = [l for l in pkt["layers"] if l["_layer"] == name]
    ls.sort(key=lambda l: l.get("_quoted", False))
    return ls[0] if ls else None
def Q(pkt, name):
    """the quoted layer called name"""
    for l in (pkt or {"layers": []})["layers"]:
        if l["_layer"] == name and l.get("_quoted"):
            return l
    return None
ok = eval(sys.argv[2])
if not ok:
    print("   summary:", S)
    for x in X[:3]:
        print("   exchange:", json.dumps(x)[:600])
sys.exit(0 if ok else 1)
EOF
}

grep_all() { # FILE TEXT...: every TEXT is a line part of FILE
	local f=$1 t
	shift
	for t in "$@"; do grep -qF "$t" "$f" || return 1; done
}

# ---- ARP, ICMP echo ----
sr --json --timeout 1 'ether{}/arp{pdst="10.77.0.2"}' >"$TMP/arp.json"
check "ARP who-has answered by the kernel with B's MAC" jcheck "$TMP/arp.json" \
	"S['answered'] == 1 and L(X[0]['answer'], 'arp')['arp.src.hw_mac'] == '$MAC_B' and L(X[0]['answer'], 'arp')['arp.opcode'] == 2"

sr --json --timeout 1 'ether{}/ip{dst="10.77.0.2"}/icmp{id=4242, seq=range(1,5)}/"ping"' >"$TMP/echo.json"
check "ICMP echo: 5 replies, each with its request's id and seq" jcheck "$TMP/echo.json" \
	"S['sent'] == 5 and S['answered'] == 5 and S['lost'] == 0 and all(L(x['answer'], 'icmp')['icmp.type'] == 0 and L(x['answer'], 'icmp')['icmp.ident'] == L(x['request'], 'icmp')['icmp.ident'] and L(x['answer'], 'icmp')['icmp.seq'] == L(x['request'], 'icmp')['icmp.seq'] for x in X) and S['rtt_min_us'] > 0"

# a request the kernel drops (bad checksum): no answer after 1 + 2 tries; pacing with --rate
sr --json --timeout 0.2 --retry 2 'ether{}/ip{dst="10.77.0.2"}/icmp{id=4244, checksum=0xdead}' >"$TMP/lost.json"
check "--retry 2: an unanswered request is sent 3 times, then reported lost (answer null)" jcheck "$TMP/lost.json" \
	"S['sent'] == 1 and S['lost'] == 1 and S['tx'] == 3 and X[0]['answer'] is None and X[0]['tries'] == 3"
sr --json --timeout 1 --rate 200 'ether{}/ip{dst="10.77.0.2"}/icmp{id=4245, seq=range(1,20)}' >"$TMP/rate.json"
check "--rate 200: 20 requests all answered, spread over >= 19 gaps of 5 ms" jcheck "$TMP/rate.json" \
	"S['answered'] == 20 and S['answer_span_us'] >= 94000"

# ---- IPv6: neighbour solicitation to the solicited-node address, echo ----
sr --json --timeout 1 "ether{}/ipv6{dst=\"ff02::1:ff00:2\", hlim=255}/icmpv6{type=135, tgt=\"$IP6_B\", options=\"slla=$MAC_A\"}" >"$TMP/ns.json"
check "IPv6 NS answered by an NA for the target, carrying B's MAC" jcheck "$TMP/ns.json" \
	"S['answered'] == 1 and L(X[0]['answer'], 'icmpv6')['icmpv6.type'] == 136 and '$MAC_B' in json.dumps(X[0]['answer'])"

sr --json --timeout 1 "ether{}/ipv6{dst=\"$IP6_B\"}/icmpv6{type=128, id=9, seq=range(1,3)}" >"$TMP/echo6.json"
check "ICMPv6 echo: 3 replies with matching id and seq" jcheck "$TMP/echo6.json" \
	"S['answered'] == 3 and all(L(x['answer'], 'icmpv6')['icmpv6.type'] == 129 and L(x['answer'], 'icmpv6')['icmpv6.echo.sequence_number'] == L(x['request'], 'icmpv6')['icmpv6.echo.sequence_number'] for x in X)"

# ---- TCP: a listening port and a closed one ----
in_b timeout 40 socat TCP-LISTEN:8080,fork,reuseaddr /dev/null &
SOCAT=$!
for _ in $(seq 50); do in_b ss -ltn | grep -q ':8080 ' && break; sleep 0.1; done
sr --json --timeout 1 'ether{}/ip{dst="10.77.0.2"}/tcp{sport=40001, dport={8080,8081}, flags="S", seq=1000}' >"$TMP/tcp.json"
check "TCP SYN: SYN/ACK from the open port (ack = seq + 1), RST/ACK from the closed one" jcheck "$TMP/tcp.json" \
	"S['answered'] == 2 and sorted((L(x['request'], 'tcp')['tcp.dstport'], L(x['answer'], 'tcp')['tcp.flags']) for x in X) == [(8080, '0x012'), (8081, '0x014')] and all(L(x['answer'], 'tcp')['tcp.ack'] == 1001 for x in X)"

# a port scan written as Scapy's sr() takes it: no ether{} (umpa adds the header), ports 1-1024 plus 8080
sr --json --timeout 1 'ip{dst="10.77.0.2"}/tcp{sport=40004, dport={range(1,1024), 8080}, flags="S"}' >"$TMP/scan.json"
check "port scan from ip{}/tcp{} (Ethernet added): 1,025 SYNs, all answered, SYN/ACK only from 8080, none lost" jcheck "$TMP/scan.json" \
	"S['sent'] == 1025 and S['answered'] == 1025 and S['lost'] == 0 and [L(x['request'], 'tcp')['tcp.dstport'] for x in X if L(x['answer'], 'tcp')['tcp.flags'] == '0x012'] == [8080] and all(x['request']['layers'][0]['_layer'] == 'eth' for x in X)"

# ---- UDP to closed ports: port unreachable quoting the datagram ----
sr --json --timeout 1 'ether{}/ip{dst="10.77.0.2"}/udp{sport=40002, dport=range(33434,33436)}/"probe"' >"$TMP/udp.json"
check "UDP to closed ports: each answered by the port unreachable quoting it" jcheck "$TMP/udp.json" \
	"S['answered'] == 3 and all(L(x['answer'], 'icmp')['icmp.type'] == 3 and L(x['answer'], 'icmp')['icmp.code'] == 3 and Q(x['answer'], 'udp')['udp.dstport'] == L(x['request'], 'udp')['udp.dstport'] for x in X)"

sr --json --timeout 1 "ether{}/ipv6{dst=\"$IP6_B\"}/udp{sport=40003, dport=range(33434,33435)}/\"probe\"" >"$TMP/udp6.json"
check "UDP over IPv6 to closed ports: each answered by the ICMPv6 port unreachable quoting it" jcheck "$TMP/udp6.json" \
	"S['answered'] == 2 and all(L(x['answer'], 'icmpv6')['icmpv6.type'] == 1 and L(x['answer'], 'icmpv6')['icmpv6.code'] == 4 and Q(x['answer'], 'udp')['udp.dstport'] == L(x['request'], 'udp')['udp.dstport'] for x in X)"

# ---- resolution: with the kernel's neighbour table empty, umpa asks the wire itself ----
in_a ip neigh flush dev "$IF_A"
in_a ip link set "$IF_A" arp off # A's kernel learns nothing from B's ARP / ND meanwhile
sr -v --json --timeout 1 'ether{}/ip{dst="10.77.0.2"}/icmp{id=4343}' "ether{}/ipv6{dst=\"$IP6_B\"}/icmpv6{type=128, id=4343}" >"$TMP/res.json" 2>"$TMP/res.err"
in_a ip link set "$IF_A" arp on
sed 's/^/   /' "$TMP/res.err"
check "ARP and neighbour solicitation by umpa itself: ether dst = B's MAC, both answered" jcheck "$TMP/res.json" \
	"S['answered'] == 2 and all(x['request']['layers'][0]['eth.dst'] == '$MAC_B' for x in X)"
check "... the MACs came from umpa's own ARP who-has and neighbour solicitation (-v says so)" \
	grep_all "$TMP/res.err" "10.77.0.2 is at $MAC_B (ARP who-has)" "$IP6_B is at $MAC_B (neighbour solicitation)"

# ---- a dead host among live ones: reported unanswered with its reason, the others sent and matched ----
# B answers ARP for 10.77.0.2-4; nobody has 10.77.0.9 or 10.77.0.10.  Both silent hosts are
# asked at once (umpa_resolve_prefetch), so they cost one resolution timeout (3 x 1 s), not two.
ip -n "$NS_B" addr add 10.77.0.3/24 dev "$IF_B"
ip -n "$NS_B" addr add 10.77.0.4/24 dev "$IF_B"
t0=$(date +%s.%N)
sr --json --timeout 1 'ether{}/ip{dst={"10.77.0.2", "10.77.0.9", "10.77.0.3", "10.77.0.10", "10.77.0.4"}}/icmp{id=4400, seq=1}' >"$TMP/dead.json" 2>"$TMP/dead.err"
rc=$?
t1=$(date +%s.%N)
sed 's/^/   /' "$TMP/dead.err"
check "dead hosts among live ones (--json): the 3 live answered, the 2 dead reported unanswered with the reason" jcheck "$TMP/dead.json" \
	"len(X) == 5 and S['answered'] == 3 and S['not_sent'] == 2 and S['lost'] == 0 and sorted(L(x['answer'], 'ip')['ip.src'] for x in X if x['answer']) == ['10.77.0.2', '10.77.0.3', '10.77.0.4'] and sorted(L(x['request'], 'ip')['ip.dst'] for x in X if x['answer'] is None) == ['10.77.0.10', '10.77.0.9'] and all(x['error'].startswith(L(x['request'], 'ip')['ip.dst'] + ': no answer to ARP who-has') and x['tries'] == 0 for x in X if x['answer'] is None)"
check "... exit 1 (2 requests could not be sent) and one stderr line per dead host naming it" \
	bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$TMP/dead.err') -eq 2 ] && grep -q 'request 2 not sent: 10.77.0.9: no answer to ARP who-has' '$TMP/dead.err' && grep -q 'request 4 not sent: 10.77.0.10: no answer to ARP who-has' '$TMP/dead.err'"
check "... both silent hosts asked at once: $(echo "$t1 - $t0" | bc) s, under 5.5 s (one after the other: 6 s or more)" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5.5) }'
sr --timeout 1 'ether{}/ip{dst={"10.77.0.9", "10.77.0.2"}}/icmp{id=4401, seq=1}' >"$TMP/dead.txt" 2>/dev/null
sed 's/^/   /' "$TMP/dead.txt"
check "dead host (text): 'no answer: not sent, 10.77.0.9: no answer to ARP who-has', the live one answered, summary counts it" \
	grep_all "$TMP/dead.txt" "no answer: not sent, 10.77.0.9: no answer to ARP who-has (3 tries" "IP 10.77.0.2 > 10.77.0.1: ICMP echo reply, id 4401" "Sent 1, answered 1, lost 0 (0.0%), unmatched 0, 1 not sent (no address)"

# ---- 10,000 in flight ----
start=$(date +%s.%N)
sr --json --filter icmp --timeout 3 'ether{}/ip{dst="10.77.0.2"}/icmp{id=range(1,5), seq=range(1,2000)}' >"$TMP/many.json"
end=$(date +%s.%N)
echo "   10,000 exchanges in $(echo "$end - $start" | bc 2>/dev/null || echo '?') s: $(tail -1 "$TMP/many.json")"
check "10,000 echo requests in flight: all answered, none lost, nothing unmatched" jcheck "$TMP/many.json" \
	"S['sent'] == 10000 and S['answered'] == 10000 and S['lost'] == 0 and S['unmatched'] == 0 and len(X) == 10000"
check "10,000: every answer is its own request's (id, seq), no pair twice" jcheck "$TMP/many.json" \
	"all((L(x['answer'], 'icmp')['icmp.ident'], L(x['answer'], 'icmp')['icmp.seq']) == (L(x['request'], 'icmp')['icmp.ident'], L(x['request'], 'icmp')['icmp.seq']) for x in X) and len(set((L(x['request'], 'icmp')['icmp.ident'], L(x['request'], 'icmp')['icmp.seq']) for x in X)) == 10000"

# ---- traceroute through B to C ----
sr --json --timeout 1 'ether{}/ip{dst="10.78.0.2", ttl={1,2}}/icmp{id=77, seq=1}' >"$TMP/trace.json"
check "traceroute: ttl 1 -> time exceeded from the router quoting it, ttl 2 -> echo reply from C" jcheck "$TMP/trace.json" \
	"S['answered'] == 2 and sorted((L(x['request'], 'ip')['ip.ttl'], L(x['answer'], 'ip')['ip.src'], L(x['answer'], 'icmp')['icmp.type']) for x in X) == [(1, '10.77.0.2', 11), (2, '10.78.0.2', 0)]"

# ---- --l3: the kernel routes and resolves ----
sr --l3 --json --timeout 1 'ip{dst="10.78.0.2"}/icmp{id=78, seq=range(1,2)}' >"$TMP/l3.json"
check "--l3: echo to C through the kernel's routing, both answered" jcheck "$TMP/l3.json" \
	"S['answered'] == 2 and all(L(x['answer'], 'ip')['ip.src'] == '10.78.0.2' for x in X)"

# ---- -Z: privileges dropped once the capture and injector are open ----
if id nobody >/dev/null 2>&1; then
	sr -Z nobody --json --timeout 1 'ether{}/ip{dst="10.77.0.2"}/icmp{id=79, seq=range(1,3)}' >"$TMP/z.json"
	check "-Z nobody: still sends and matches (3 answered)" jcheck "$TMP/z.json" "S['answered'] == 3"
fi

# ---- bad input: one line, non-zero exit ----
bad() { # what expected-text args...
	local what=$1 want=$2
	shift 2
	in_a timeout 10 "$UMPA" sr "$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "$want" "$TMP/err"; then
		echo "   $(cat "$TMP/err")"
		return 0
	fi
	echo "   exit $rc, stderr: $(cat "$TMP/err")"
	return 1
}
check "unknown interface: one line, exit 1" bad if "no interface 'nosuch0'" -i nosuch0 'ether{}/ip{dst="10.77.0.2"}/icmp{}'
check "BPF that does not compile: one line, exit 1" bad bpf "bad filter" -i "$IF_A" --filter 'icmp and and' 'ether{}/ip{dst="10.77.0.2"}/icmp{}'
check "unreachable destination: one line, exit 1" bad route "no route to 10.99.0.1" -i "$IF_A" 'ether{}/ip{dst="10.99.0.1"}/icmp{}'
check "on-link host that does not exist: one line, exit 1" bad arp "10.77.0.99: no answer to ARP who-has" -i "$IF_A" 'ether{}/ip{dst="10.77.0.99"}/icmp{}'
check "bad expression: one line, exit 1" bad expr "expression 1" -i "$IF_A" 'ether{}/ip{tll=3}/icmp{}'

kill "$SOCAT" 2>/dev/null
wait "$SOCAT" 2>/dev/null
finish
