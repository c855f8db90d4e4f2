#!/usr/bin/env bash
# host.sh - the host and dns-server templates against real clients (ping, arping, curl, openssl, dig, nmap).
#
# Namespace A runs the contract command
#   umpa run host -i veth-a --set ip=10.99.0.50 --set ip6=fd99::50
#     --set tcp=22:open,23:closed,25:filtered,80:http,443:https --set udp=53:dns,7:echo -w out.pcapng
# on its veth; A's kernel owns neither address (it drops what is sent there,
# it neither answers nor resets).  Namespace B (10.99.0.1/24, fd99::1/64 on
# its veth, transmit checksum offload off) is the client: ping, ping -6,
# arping, curl http://, curl -k https://, openssl s_client, dig (UDP and
# TCP), nmap -sS and -sU on the listed ports and one unlisted of each.
# tshark reads umpa's capture: every exchange is in it, and the HTTPS
# request decrypts from the file alone (its Decryption Secrets Block).
# tcp.connect: a template connects to B's kernel echo server (socat).
# A SYN flood offline: the connection limit evicts the oldest half-open ones.
# Offline: the requests umpa recorded in its -w capture (without the TLS
# conversation, whose server randoms differ on every run) through
# `umpa run host --offline` twice: byte-identical, and the answers equal the
# live ones field by field.  Then dns-server: dig's A, AAAA, PTR, CNAME, TXT
# and NXDOMAIN answers, over UDP and TCP.
# Needs root; skips (77) otherwise.  Every wait is bounded.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark ping arping curl openssl dig nmap ethtool socat timeout

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir host) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair host || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
V4=10.99.0.50
V6=fd99::50
in_b ip addr add 10.99.0.1/24 dev "$IF_B"
in_b ip addr add fd99::1/64 dev "$IF_B" nodad
in_b ethtool -K "$IF_B" tx off >/dev/null 2>&1 || in_b ethtool -K "$IF_B" tx-checksumming off >/dev/null

ip netns exec "$NS_A" timeout 60 "$UMPA" run host -i "$IF_A" --set ip=$V4 --set ip6=$V6 \
	--set tcp=22:open,23:closed,25:filtered,80:http,443:https --set udp=53:dns,7:echo -w "$T/out.pcapng" \
	--keylog "$T/keys.txt" --json >"$T/live.json" 2>"$T/live.err" &
UP=$!
for _ in $(seq 50); do # the host answers (10 s at most)
	in_b ping -n -c 1 -W 0.2 $V4 >/dev/null 2>&1 && break
	sleep 0.1
done

start=$(date +%s%N)
check "ping -c 3 $V4" in_b timeout 20 ping -n -c 3 -i 0.2 -W 2 $V4 >"$T/ping4.txt"
check "ping -6 -c 3 $V6 (neighbour discovery, IPv6 echo)" in_b timeout 20 ping -6 -n -c 3 -i 0.2 -W 2 $V6 >"$T/ping6.txt"
check "arping -c 2 $V4 (is-at 02:00:0a:63:00:32)" \
	sh -c "ip netns exec '$NS_B' timeout 20 arping -c 2 -w 10 -I '$IF_B' $V4 >'$T/arping.txt' && grep -qi '02:00:0a:63:00:32' '$T/arping.txt'"
check "curl http://$V4/ answers the page" \
	sh -c "ip netns exec '$NS_B' timeout 20 curl -sS -m 10 http://$V4/ >'$T/http.txt' 2>&1 && grep -q 'host.umpa.test' '$T/http.txt'"
check "curl http://[$V6]/ (IPv6)" \
	sh -c "ip netns exec '$NS_B' timeout 20 curl -sS -m 10 'http://[$V6]/' 2>&1 | grep -q 'umpa host template'"
check "curl -k https://$V4/ answers the page over TLS" \
	sh -c "ip netns exec '$NS_B' timeout 20 curl -ksS -m 10 https://$V4/ >'$T/https.txt' 2>&1 && grep -q 'host.umpa.test' '$T/https.txt'"
in_b timeout 20 openssl s_client -connect $V4:443 -servername host.umpa.test -alpn http/1.1 </dev/null \
	>"$T/sclient.txt" 2>&1
check "openssl s_client reports the certificate (CN = host.umpa.test, self-signed) and ALPN" \
	sh -c "grep -q '^subject=.*CN = host.umpa.test' '$T/sclient.txt' && grep -q '^issuer=.*CN = host.umpa.test' '$T/sclient.txt' && grep -q 'self-signed certificate' '$T/sclient.txt' && grep -q 'ALPN protocol: http/1.1' '$T/sclient.txt'"
grep -E '^(subject|issuer)=' "$T/sclient.txt" | sed 's/^/    s_client: /'
check "dig @$V4 host.umpa.test A (UDP)" \
	sh -c "[ \"\$(ip netns exec '$NS_B' timeout 20 dig +short +time=2 +tries=2 @$V4 host.umpa.test A)\" = $V4 ]"
check "dig @$V4 -x $V4 (PTR)" \
	sh -c "[ \"\$(ip netns exec '$NS_B' timeout 20 dig +short +time=2 +tries=2 @$V4 -x $V4)\" = host.umpa.test. ]"
check "dig +tcp @$V4 host.umpa.test AAAA (TCP port 53 is not listed: refused)" \
	sh -c "! ip netns exec '$NS_B' timeout 20 dig +tcp +short +time=2 +tries=1 @$V4 host.umpa.test AAAA >/dev/null 2>&1"
check "UDP echo on port 7: the datagram comes back" \
	sh -c "echo umpa-echo | ip netns exec '$NS_B' timeout 5 socat -t 2 - UDP4:$V4:7 2>/dev/null | grep -q umpa-echo"

in_b timeout 60 nmap -n -Pn -sS -T5 --max-retries 1 -p 22,23,25,80,443,8080 $V4 -oG "$T/nmap-tcp.txt" \
	>"$T/nmap-tcp.out" 2>&1
in_b timeout 60 nmap -n -Pn -sU -T5 --max-retries 1 -p 7,53,9 $V4 -oG "$T/nmap-udp.txt" >"$T/nmap-udp.out" 2>&1
echo "    nmap -sS: $(grep -o 'Ports: .*' "$T/nmap-tcp.txt" | head -1)"
echo "    nmap -sU: $(grep -o 'Ports: .*' "$T/nmap-udp.txt" | head -1)"
port_state() { grep -q "$2/$3/" "$1"; }
check "nmap -sS: 22 open" port_state "$T/nmap-tcp.txt" 22 open
check "nmap -sS: 23 closed" port_state "$T/nmap-tcp.txt" 23 closed
check "nmap -sS: 25 filtered" port_state "$T/nmap-tcp.txt" 25 filtered
check "nmap -sS: 80 open" port_state "$T/nmap-tcp.txt" 80 open
check "nmap -sS: 443 open" port_state "$T/nmap-tcp.txt" 443 open
check "nmap -sS: 8080 (unlisted) closed" port_state "$T/nmap-tcp.txt" 8080 closed
check "nmap -sU: 53 open (DNS answers)" port_state "$T/nmap-udp.txt" 53 open
check "nmap -sU: 7 open (echo answers)" port_state "$T/nmap-udp.txt" 7 open
check "nmap -sU: 9 (unlisted) closed (ICMP port unreachable)" port_state "$T/nmap-udp.txt" 9 closed
echo "    clients took $((($(date +%s%N) - start) / 1000000)) ms"

kill -INT $UP
wait $UP
rc=$?
check "umpa run host exits 0 on SIGINT (rc $rc)" [ $rc -eq 0 ]
check "counters: no errors" grep -q '"errors":0' "$T/live.json"
[ -s "$T/live.err" ] && echo "    stderr: $(head -c 400 "$T/live.err")"

# ---- the capture: every exchange, HTTPS decrypted from the file alone ----
tshark -r "$T/out.pcapng" -T fields -e frame.number -e frame.comment -e _ws.col.Info >"$T/out.txt" 2>/dev/null
check "capture: no malformed frames" sh -c "[ -s '$T/out.txt' ] && [ -z \"\$(tshark -r '$T/out.pcapng' -Y _ws.malformed 2>/dev/null)\" ]"
check "capture: ARP is-at, echo replies (v4, v6), neighbour advertisement" \
	sh -c "grep -q 'is at 02:00:0a:63:00:32' '$T/out.txt' && grep -q 'Echo (ping) reply' '$T/out.txt' && grep -q 'Neighbor Advertisement' '$T/out.txt'"
check "capture: the HTTP request and its 200 answer" sh -c "grep -q 'GET / HTTP/1.1' '$T/out.txt' && grep -q 'HTTP/1.1 200 OK' '$T/out.txt'"
check "capture: DNS answers, RST for closed ports, ICMP port unreachable" \
	sh -c "grep -q 'Standard query response' '$T/out.txt' && grep -q 'RST' '$T/out.txt' && grep -q 'Destination unreachable (Port unreachable)' '$T/out.txt'"
check "capture: a Decryption Secrets Block lets tshark decrypt the HTTPS request (tls port 443)" \
	sh -c "tshark -r '$T/out.pcapng' -Y 'http.request && tcp.port == 443' 2>/dev/null | grep -q 'GET / HTTP/1.1'"
check "--keylog holds the TLS 1.3 secrets" grep -q '^CLIENT_TRAFFIC_SECRET_0 ' "$T/keys.txt"

# ---- offline: the recording without the TLS conversation ----
# the requests: what umpa's capture holds that it did not send (its MAC is 02:00 + the IPv4 address)
tshark -r "$T/out.pcapng" -Y 'eth.src != 02:00:0a:63:00:32 && !(tcp.port == 443)' -F pcap -w "$T/req-notls.pcap" 2>/dev/null
for k in a b; do
	"$UMPA" run host --offline "$T/req-notls.pcap" --set ip=$V4 --set ip6=$V6 \
		--set tcp=22:open,23:closed,25:filtered,80:http,443:https --set udp=53:dns,7:echo -w "$T/off-$k.pcapng" \
		--json >"$T/off-$k.json" 2>"$T/off-$k.err"
	eval "orc_$k=$?"
done
check "offline runs exit 0" [ "$orc_a" -eq 0 -a "$orc_b" -eq 0 ]
check "offline: two runs byte-identical" cmp -s "$T/off-a.pcapng" "$T/off-b.pcapng"
fields='-e eth.src -e eth.dst -e arp.opcode -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e icmp.type -e icmp.code -e icmpv6.type -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.seq_raw -e tcp.ack_raw -e tcp.len -e udp.srcport -e udp.dstport -e dns.a -e dns.ptr.domain_name -e http.response.code'
# answers: frames umpa sent (commented "reply to"), not pure ACKs (their timing is the peer's), not port 443
sel='frame.comment contains "reply to" && !(tcp.port == 443) && !(tcp.len == 0 && tcp.flags == 0x010)'
# shellcheck disable=SC2086
tshark -r "$T/out.pcapng" -Y "$sel" -T fields $fields 2>/dev/null | sort >"$T/live.rep"
# shellcheck disable=SC2086
tshark -r "$T/off-a.pcapng" -Y "$sel" -T fields $fields 2>/dev/null | sort >"$T/off.rep"
echo "    answers: live $(wc -l <"$T/live.rep"), offline $(wc -l <"$T/off.rep")"
check "offline answers equal the live ones (fields, sequence numbers included)" \
	sh -c "[ \$(wc -l <'$T/live.rep') -gt 30 ] && cmp -s '$T/live.rep' '$T/off.rep'"
cmp -s "$T/live.rep" "$T/off.rep" || diff "$T/live.rep" "$T/off.rep" | head -10

# ---- a SYN flood offline: 70,000 SYNs from 70,000 ports; the 65,536-connection limit evicts the oldest half-open ----
"$UMPA" build --pcapng --time 1700000000 --interval 0.00001 -w "$T/syns.pcapng" \
	'ether{src="02:00:00:00:00:01", dst="02:00:0a:63:00:32"}/ip{src={"10.99.1.1","10.99.1.2"}, dst="10.99.0.50"}/tcp{sport=range(1024,36023), dport=80, flags="S", seq=7}' \
	>/dev/null 2>&1
start=$(date +%s%N)
timeout 120 "$UMPA" run host --offline "$T/syns.pcapng" --set ip=$V4 --set tcp=80:http --json >"$T/flood.json" 2>"$T/flood.err"
rc=$?
echo "    70,000 SYNs offline: $((($(date +%s%N) - start) / 1000000)) ms"
check "SYN flood offline: every SYN answered, 4,464 half-open connections evicted, no errors (rc $rc)" \
	sh -c "[ $rc -eq 0 ] && grep -q '\"tx\":70000' '$T/flood.json' && grep -q '\"tcp.evicted\":4464' '$T/flood.json' && grep -q '\"errors\":0' '$T/flood.json'"

# ---- bad parameters: one line naming the parameter, exit 2 ----
"$UMPA" run host --offline "$T/syns.pcapng" --set tcp=22:open,23:bogus >/dev/null 2>"$T/bad1.err"
rc=$?
check "host --set tcp=23:bogus: exit 2, one line naming it (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && [ \$(wc -l <'$T/bad1.err') -eq 1 ] && grep -q -- \"--set tcp=22:open,23:bogus: '23:bogus': give PORT:ACTION\" '$T/bad1.err'"
"$UMPA" run dns-server --offline "$T/syns.pcapng" --set records='x.test MX 1 y' >/dev/null 2>"$T/bad2.err"
rc=$?
check "dns-server --set records with an MX: exit 2, one line naming it (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && [ \$(wc -l <'$T/bad2.err') -eq 1 ] && grep -q 'type MX (give A, AAAA, PTR, CNAME or TXT)' '$T/bad2.err'"

# ---- tcp.connect: a template connects to B's kernel (socat echo) from an address A's kernel lacks ----
cat >"$T/connect.lua" <<'EOF2'
-- connect: one connection to an echo server, its answer checked
params{peer = {type = "ipv4"}, peer_mac = {type = "mac"}}
local base = include("icmp-host") -- ARP for our address: the peer's kernel asks
local got = ""
local c = tcp.connect({addr = param.peer, port = 9999, src = param.ip, mac = base.mac, dmac = param.peer_mac},
  function(c) c:write("hello umpa\n"); c:close() end)
local failed = false
c:on_data(function(c, d)
  got = got .. d
  if not failed then failed = true; error("a callback that fails on purpose") end -- counted, the run goes on
end)
c:on_eof(function(c) count(got == "hello umpa\n" and "echo.ok" or "echo.bad"); stop() end)
c:on_close(function(c, why) log("closed:", why); stop() end)
EOF2
ip netns exec "$NS_B" timeout 20 socat -T 10 TCP4-LISTEN:9999,bind=10.99.0.1,reuseaddr EXEC:cat 2>/dev/null &
SP=$!
for _ in $(seq 50); do
	in_b ss -ltn 'sport = :9999' 2>/dev/null | grep -q LISTEN && break
	sleep 0.1
done
in_a timeout 20 "$UMPA" run "$T/connect.lua" -i "$IF_A" --set ip=10.99.0.60 --set peer=10.99.0.1 \
	--set peer_mac="$MAC_B" --duration 10 --json >"$T/connect.json" 2>"$T/connect.err"
check "tcp.connect: the kernel's echo server sends our line back, then its FIN" \
	sh -c "grep -q '\"echo.ok\":1' '$T/connect.json' && grep -q '\"tcp.connected\":1' '$T/connect.json'"
check "tcp.connect: a failing data callback is counted and logged with its line, the run goes on" \
	sh -c "grep -q '\"errors\":1' '$T/connect.json' && grep -q 'connect.lua:10: a callback that fails on purpose' '$T/connect.err'"
kill $SP 2>/dev/null
wait $SP 2>/dev/null

# ---- dns-server ----
ip netns exec "$NS_A" timeout 30 "$UMPA" run dns-server -i "$IF_A" --set ip=10.99.0.53 --set ip6=fd99::53 \
	--set records='www.test A 10.99.0.7; www.test AAAA fd99::7; alias.test CNAME www.test; www.test TXT hello umpa world; 8.0.99.10.in-addr.arpa PTR mail.test' \
	--json >"$T/dns.json" 2>"$T/dns.err" &
DP=$!
for _ in $(seq 50); do
	in_b ping -n -c 1 -W 0.2 10.99.0.53 >/dev/null 2>&1 && break
	sleep 0.1
done
q() { in_b timeout 10 dig +time=2 +tries=2 @10.99.0.53 "$@" 2>/dev/null; }
check "dns-server: A" sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @10.99.0.53 www.test A)\" = 10.99.0.7 ]"
check "dns-server: AAAA" sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @10.99.0.53 www.test AAAA)\" = fd99::7 ]"
check "dns-server: PTR from the A record" sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @10.99.0.53 -x 10.99.0.7)\" = www.test. ]"
check "dns-server: PTR given" sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @10.99.0.53 -x 10.99.0.8)\" = mail.test. ]"
check "dns-server: CNAME and its target" \
	sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @10.99.0.53 alias.test A | tr '\n' ' ')\" = 'www.test. 10.99.0.7 ' ]"
check "dns-server: TXT" sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @10.99.0.53 www.test TXT)\" = '\"hello umpa world\"' ]"
q nothere.test A >"$T/nx.txt"
check "dns-server: NXDOMAIN" grep -q 'status: NXDOMAIN' "$T/nx.txt"
check "dns-server: over TCP too" \
	sh -c "[ \"\$(ip netns exec '$NS_B' dig +tcp +short +time=2 @10.99.0.53 www.test A)\" = 10.99.0.7 ]"
check "dns-server: over IPv6" \
	sh -c "[ \"\$(ip netns exec '$NS_B' dig +short +time=2 @fd99::53 www.test AAAA)\" = fd99::7 ]"
kill -INT $DP
wait $DP
check "dns-server exits 0 with no errors" grep -q '"errors":0' "$T/dns.json"
finish
