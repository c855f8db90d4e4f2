#!/usr/bin/env bash
# replay.sh - `umpa replay` against real peers: record, replay, check.
#
# A session is recorded with tcpdump in namespace A against the kernel in B
# and a dns-server template in B: ARP, ping, ping -6 (neighbour discovery),
# UDP to a closed port (ICMP port unreachable), a DNS query (dig).  Then a
# fresh pair of namespaces (new MAC addresses: umpa maps them) is the peer:
# every exchange matches, exit 0.  The peer is changed (ip_default_ttl=33):
# the report names ip.ttl 64 -> 33 on exactly the kernel's answers, the DNS
# answers (the template's own TTL) still match, exit 1, the JUnit file names
# the failing flows.  Then --ignore, --learn-noise, timing, bad input (one
# line each), and corpus files at --topspeed through the veth (no crash).
# Needs root (skips with 77 otherwise).
set -u
: "${top_srcdir:=.}"
: "${UMPA:=./umpa}"
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools tcpdump ping dig timeout
. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir replay) || exit 1
trap 'netns_cleanup; umpa_tmpdir_done "$T"' EXIT

# dns_up: the dns-server template in B answering 10.77.0.53 (poll, bounded)
dns_up() {
	ip netns exec "$NS_B" timeout 60 "$UMPA" run dns-server -i "$IF_B" --set ip=10.77.0.53 --set records='www.test A 10.77.0.7' \
		>/dev/null 2>"$T/dns.err" &
	DP=$!
	for _ in $(seq 100); do
		[ -n "$(in_a dig +short +time=1 +tries=1 @10.77.0.53 www.test A 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
dns_down() {
	kill "$DP" 2>/dev/null
	wait "$DP" 2>/dev/null
}

# ---- record ----
netns_pair replay || {
	echo "FAIL: cannot create the namespaces"
	exit 1
}
dns_up || echo "note: the dns-server did not answer in time"
in_a ip neigh flush dev "$IF_A"
# (ip netns exec, not in_a: $! is then timeout's pid, which passes the TERM on)
ip netns exec "$NS_A" timeout 20 tcpdump -Z root --immediate-mode -i "$IF_A" -w "$T/rec.pcap" -U >/dev/null \
	2>"$T/tcpdump.err" &
TP=$!
# the same session as a Linux cooked capture (-i any): re-framed for the veth when replayed
ip netns exec "$NS_A" timeout 20 tcpdump -Z root --immediate-mode -i any -w "$T/cooked.pcap" -U >/dev/null \
	2>"$T/tcpdump2.err" &
TP2=$!
for _ in $(seq 100); do grep -q listening "$T/tcpdump.err" && grep -q listening "$T/tcpdump2.err" && break; sleep 0.05; done
in_a ping -n -c 3 -i 0.05 "$IP_B" >/dev/null
in_a ping -6 -n -c 2 -i 0.05 "$IP6_B" >/dev/null
in_a bash -c "echo hi > /dev/udp/$IP_B/9999"
in_a bash -c "echo hi > /dev/udp/$IP6_B/9999"
in_a dig +time=1 +tries=1 @10.77.0.53 www.test A >/dev/null
sleep 0.2
kill "$TP" "$TP2"
wait "$TP" "$TP2" 2>/dev/null
dns_down
"$UMPA" show "$T/rec.pcap" >"$T/rec.txt"
check "recorded: ARP, ping, ping -6 with ND, UDP port unreachable, DNS" \
	sh -c "grep -q 'ARP' '$T/rec.txt' && grep -q 'echo reply' '$T/rec.txt' && grep -qi 'neighbor adv' '$T/rec.txt' &&
	       grep -q 'unreachable' '$T/rec.txt' && grep -q 'A 10.77.0.7' '$T/rec.txt'"

# ---- a fresh peer: everything matches ----
netns_cleanup
netns_pair replay || exit 1
dns_up || echo "note: the dns-server did not answer in time"
in_a ip neigh flush dev "$IF_A"
in_a timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --timeout 0.5 --json >"$T/ok.json" 2>"$T/ok.err"
rc=$?
tail -1 "$T/ok.json" >"$T/ok.sum"
check "fresh peer: exit 0, every exchange matched (rc $rc: $(cat "$T/ok.sum"))" \
	sh -c "[ $rc -eq 0 ] && grep -q '\"differing\":0,\"missing\":0,\"unexpected\":0' '$T/ok.sum'"
check "fresh peer: the exchanges with answers are there (ARP, ICMP x3, ND, ICMPv6, UDP->ICMP and ICMPv6 errors, DNS)" \
	sh -c "[ \$(grep -c '\"verdict\":\"matched\",\"answers\":1' '$T/ok.json') -ge 8 ] &&
	       grep -q '\"flow\":\"udp 10.77.0.1:[0-9]* > 10.77.0.53:53\",\"verdict\":\"matched\",\"answers\":1' '$T/ok.json' &&
	       grep -q '\"flow\":\"udp 10.77.0.1:[0-9]* > 10.77.0.2:9999\",\"verdict\":\"matched\",\"answers\":1' '$T/ok.json' &&
	       grep -q '\"flow\":\"nd fd00:77::2\",\"verdict\":\"matched\",\"answers\":1' '$T/ok.json' &&
	       grep -q '\"flow\":\"udp \[fd00:77::1\]:[0-9]* > \[fd00:77::2\]:9999\",\"verdict\":\"matched\",\"answers\":1' '$T/ok.json' &&
	       grep -q '\"flow\":\"arp 10.77.0.1 > 10.77.0.2\",\"verdict\":\"matched\",\"answers\":1' '$T/ok.json'"
check "the summary object is the last line of --json" grep -q '^{"summary":true' "$T/ok.sum"
editcap -F pcapng "$T/rec.pcap" "$T/rec.pcapng" 2>/dev/null
in_a timeout 30 "$UMPA" replay "$T/rec.pcapng" -i "$IF_A" --timeout 0.3 >"$T/ng.txt" 2>&1
rc=$?
check "pcapng input: exit 0 (rc $rc: $(grep '^[0-9]* exchange' "$T/ng.txt"))" [ $rc -eq 0 ]
in_a timeout 30 "$UMPA" replay "$T/cooked.pcap" -i "$IF_A" --timeout 0.3 >"$T/cooked.txt" 2>&1
rc=$?
check "a Linux cooked capture of the session (tcpdump -i any), re-framed for the veth: exit 0 (rc $rc: $(grep -v '^\(sent\|rate\|gaps\|latency\)' "$T/cooked.txt" | head -3 | tr '\n' ' '))" \
	sh -c "[ $rc -eq 0 ] && grep -q ' 0 differing, 0 missing, 0 unexpected' '$T/cooked.txt' && ! grep -q '^[0-9]* exchanges*: 0 matched' '$T/cooked.txt'"

# ---- the peer changed: ip.ttl 64 -> 33 on the kernel's answers ----
in_b sysctl -qw net.ipv4.ip_default_ttl=33
in_a timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --timeout 0.5 --junit "$T/j.xml" >"$T/ttl.txt" 2>"$T/ttl.err"
rc=$?
check "changed peer: exit 1 (rc $rc)" [ $rc -eq 1 ]
check "changed peer: the ping and the port-unreachable answers differ in ip.ttl 64 -> 33" \
	sh -c "[ \$(grep -c '^differing .*icmp 10.77.0.1 > 10.77.0.2 id [0-9]*.*: ip.ttl 64 -> 33' '$T/ttl.txt') -eq 3 ] &&
	       grep -q '^differing .*udp 10.77.0.1:[0-9]* > 10.77.0.2:9999.*: ip.ttl 64 -> 33' '$T/ttl.txt'"
check "changed peer: nothing else differs (ARP, IPv6, the template's DNS answer)" \
	sh -c "! grep -v 'ip.ttl 64 -> 33\$' '$T/ttl.txt' | grep -q '^\\(differing\\|missing\\|unexpected\\)' &&
	       grep -q '4 differing, 0 missing, 0 unexpected' '$T/ttl.txt'"
check "changed peer: the JUnit file names the two failing flows, the others pass" \
	sh -c "grep -q 'failures=\"2\"' '$T/j.xml' && grep -A1 'name=\"icmp 10.77.0.1 &gt; 10.77.0.2 id' '$T/j.xml' | grep -q 'failure' &&
	       grep -A1 'name=\"udp 10.77.0.1:[0-9]* &gt; 10.77.0.2:9999' '$T/j.xml' | grep -q failure &&
	       grep -q 'name=\"udp 10.77.0.1:[0-9]* &gt; 10.77.0.53:53\"/>' '$T/j.xml'"
in_a timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --timeout 0.5 --ignore ip.ttl >"$T/ign.txt" 2>&1
rc=$?
check "changed peer with --ignore ip.ttl: exit 0 (rc $rc)" [ $rc -eq 0 ]
# ip.id of the kernel's answers moves between runs: --check ip.id makes it count, --learn-noise finds it
in_a timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --timeout 0.5 --ignore ip.ttl --check ip.id --learn-noise 2 \
	>"$T/noise.txt" 2>"$T/noise.err"
rc=$?
check "--learn-noise 2 with --check ip.id: learns ip.id, names it, exit 0 (rc $rc)" \
	sh -c "[ $rc -eq 0 ] && grep -q 'learned over 2 rounds to ignore: .*ip.id' '$T/noise.err'"
dns_down

# ---- timing ----
"$UMPA" build 'ether{src="02:00:00:00:00:01", dst="02:00:00:00:00:02"}/ip{src="10.77.0.1", dst="10.77.0.2"}/udp{sport=5000, dport=9}/"x"' \
	-c 200 -w "$T/udp200.pcap" >/dev/null 2>&1
in_a timeout 30 "$UMPA" replay "$T/udp200.pcap" -i "$IF_A" --no-check --pps 1000 >"$T/pps.txt" 2>&1
rc=$?
check "--pps 1000: 200 packets sent, achieved rate within 20% (a loaded machine) (rc $rc: $(grep '^rate' "$T/pps.txt"))" \
	sh -c "[ $rc -eq 0 ] && grep -q '^sent 200 packets' '$T/pps.txt' &&
	       awk '/^rate:/ { v = \$NF; gsub(/[(%)]/, \"\", v); v += 0; exit !(v > 80 && v < 120) }' '$T/pps.txt'"
in_a timeout 30 "$UMPA" replay "$T/udp200.pcap" -i "$IF_A" --no-check --topspeed --loop 3 >"$T/top.txt" 2>&1
rc=$?
check "--topspeed --loop 3: 600 packets (rc $rc)" sh -c "[ $rc -eq 0 ] && grep -q '^sent 600 packets' '$T/top.txt'"
# the recorded timing, drift-free: --multiplier 2 replays the 3 echo requests in half their recorded span
# (ping -i 0.05: 100 ms, more when ping itself was late on a loaded machine: the span is read from the
# capture), within -10/+30 ms.  A late wakeup at replay time is the scheduler's: up to 3 tries, one must hold.
span=$(tcpdump -r "$T/rec.pcap" -tt -n 'icmp[0] == 8' 2>/dev/null | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.6f", b - a }')
mult_ok() {
	[ "$rc" -eq 0 ] && awk -v t="${took:-x}" -v s="$span" 'BEGIN { exit !(t + 0 > s / 2 - 0.010 && t + 0 < s / 2 + 0.030) }'
}
for try in 1 2 3; do
	in_a timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --no-check --side-bpf 'icmp[0] == 8' -x 2 >"$T/mult.txt" 2>&1
	rc=$?
	took=$(awk '/^sent 3 packets/ { print $7 }' "$T/mult.txt")
	echo "  -x 2, try $try: rc $rc, ${took:-?} s for a recorded span of $span s ($(sed -n 's/^gaps: .*, max/max/p' "$T/mult.txt"))"
	mult_ok && break
done
check "--side-bpf and --multiplier 2: 3 echo requests in half their recorded span (rc $rc: $(head -1 "$T/mult.txt"))" mult_ok

# ---- bad input: one line each ----
one_line() { # one_line WHAT RC-EXPECTED PATTERN CMD...
	local what=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check "$what: exit $want, one line (rc $rc: $(head -c 200 "$T/bad.err"))" \
		sh -c "[ $rc -eq $want ] && [ \$(wc -l <'$T/bad.err') -eq 1 ] && grep -q '$pat' '$T/bad.err'"
}
"$UMPA" build 'ether{}/ip{dst="10.77.0.2"}/icmp{}' -c 3 -w "$T/noans.pcap" >/dev/null 2>&1
one_line "a capture without answers" 1 'no recorded answer to check' in_a "$UMPA" replay "$T/noans.pcap" -i "$IF_A"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x93\0\0\0' >"$T/user0.pcap"
one_line "an unknown link type" 1 'link type 147' in_a "$UMPA" replay "$T/user0.pcap" -i "$IF_A"
one_line "an interface that does not exist" 1 'nope0' in_a "$UMPA" replay "$T/rec.pcap" -i nope0
one_line "a side rule that selects nothing" 1 "side rule .10.9.0.0/16. selects no packet" \
	in_a "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --side 10.9.0.0/16
one_line "a bad rewrite rule" 2 'rewrite' in_a "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --rewrite-ip 10.0.0.0/8=fd00::/8
one_line "an unknown field to ignore" 2 "no field .tll." in_a "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --ignore ip.tll
one_line "a missing file" 1 'nothere.pcap' in_a "$UMPA" replay "$T/nothere.pcap" -i "$IF_A"

# ---- two interfaces: each flow's client side on the first, its server side on the second ----
"$UMPA" build 'ether{src="02:00:00:00:00:01", dst="02:00:00:00:00:02"}/ip{src="10.78.0.1", dst="10.78.0.2"}/udp{sport=1000, dport=2000}/"q"' \
	-c 3 -w "$T/c3.pcap" >/dev/null 2>&1
"$UMPA" build 'ether{src="02:00:00:00:00:02", dst="02:00:00:00:00:01"}/ip{src="10.78.0.2", dst="10.78.0.1"}/udp{sport=2000, dport=1000}/"a"' \
	-c 2 -w "$T/s2.pcap" >/dev/null 2>&1
if command -v mergecap >/dev/null && mergecap -a -w "$T/two.pcap" "$T/c3.pcap" "$T/s2.pcap" 2>/dev/null; then
	netns_cleanup
	netns_link3 replay2 || exit 1
	rxc() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }
	a0=$(rxc "$NS_A" veth-a)
	c0=$(rxc "$NS_C" veth-c)
	# (--no-check: nothing forwards between A and C here; tests/netns/replay_more.sh checks a device between two)
	in_m timeout 30 "$UMPA" replay "$T/two.pcap" -i veth-ma -i veth-mc --topspeed --no-check >"$T/two.txt" 2>&1
	rc=$?
	for _ in $(seq 50); do [ $(($(rxc "$NS_A" veth-a) - a0)) -ge 3 ] && [ $(($(rxc "$NS_C" veth-c) - c0)) -ge 2 ] && break; sleep 0.05; done
	a1=$(($(rxc "$NS_A" veth-a) - a0))
	c1=$(($(rxc "$NS_C" veth-c) - c0))
	check "-i A -i B: 3 client packets out of the first, 2 server packets out of the second (rc $rc, $a1 and $c1)" \
		sh -c "[ $rc -eq 0 ] && [ $a1 -eq 3 ] && [ $c1 -eq 2 ] && grep -q '^sent 5 packets.* on veth-ma and veth-mc' '$T/two.txt'"
fi

# ---- corpus files at --topspeed through the veth: no crash; what cannot go is counted ----
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
if [ -d "$CORPUS" ]; then
	n=0 crashed=0
	# every 40th file (about 20; UMPA_CORPUS_ALL=1: all of them): the whole corpus takes too long for make check
	for f in $(ls "$CORPUS"/*.pcap* 2>/dev/null | awk -v all="${UMPA_CORPUS_ALL:-0}" 'all == 1 || NR % 40 == 1'); do
		in_a timeout 20 "$UMPA" replay "$f" -i "$IF_A" --topspeed --no-check >/dev/null 2>"$T/c.err"
		rc=$?
		n=$((n + 1))
		if [ $rc -gt 2 ] || [ "$(wc -l <"$T/c.err")" -gt 2 ]; then
			crashed=$((crashed + 1))
			echo "corpus: $f: rc $rc: $(head -3 "$T/c.err")"
		fi
	done
	check "corpus: $n files at --topspeed --no-check, no crash, at most two lines of notes each" [ $crashed -eq 0 ]
else
	echo "note: no corpus at $CORPUS"
fi
finish
