#!/usr/bin/env bash
# transparent.sh - `umpa proxy` without -t (transparent: SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST) behind nft
# REDIRECT rules, and -s (the upstream's source address), in a pair of network namespaces (tests/netns/lib.sh).
# B runs python3's http.server on 10.77.0.2 and [fd00:77::2] (its log names each client's address).
#  1. client namespace: an nft REDIRECT in A's nat OUTPUT sends A's connections to 10.77.0.2:WPORT to the
#     proxy on 127.0.0.1 (A), which runs with -s 10.77.0.11 (the rule spares that source: no loop).  curl in
#     A fetches a 1 MB file: SHA-256 equal; the proxy's log module saw dst 10.77.0.2 and the port; the server
#     logged the client 10.77.0.11 (-s).  A connection made to the proxy itself (not redirected) is
#     rejected with one line and counted; the proxy goes on.
#  2. router-side: nft REDIRECT in B's nat PREROUTING (IPv4 and IPv6) sends A's connections to the proxy
#     in B, listening on two addresses (-l 10.77.0.2 -l [fd00:77::2]); curl in A over IPv4 and IPv6: the
#     bytes equal, the server saw the proxy (10.77.0.2, fd00:77::2) as its client, the summary counts 2.
#  3. TPROXY: an nft tproxy rule in B's PREROUTING and --tproxy (IP_TRANSPARENT listener): the same fetch
#     through it; the original destination is the accepted socket's own address.
#  4. B as a router to a third namespace C (the server on 10.79.0.2), TPROXY with the policy routing it needs
#     (socket transparent -> mark 1 -> table 100 local): without --spoof-source the server sees the router
#     (10.79.0.1); with it, A's own address 10.77.0.1 (the upstream socket IP_TRANSPARENT, bound to it).
# Needs root (namespaces, nft); skips (77) otherwise.  Nothing leaves the namespaces; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools nft curl python3 sha256sum timeout
. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir transparent) || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair transp || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
fail=0
. "$top_srcdir/tests/proxy/lib.sh" # ok, bad, proxy_start, proxy_stop (PROXY_NS: in that namespace)
in_a ip addr add 10.77.0.11/24 dev "$IF_A"

# ---- the servers in B ----
WPORT=8080
mkdir -p "$T/www"
head -c 1000000 /dev/urandom >"$T/www/big.bin"
WANT=$(sha256sum <"$T/www/big.bin")
for a in $IP_B $IP6_B; do
	(cd "$T/www" && exec ip netns exec "$NS_B" timeout 60 python3 -m http.server $WPORT --bind $a) \
		>/dev/null 2>>"$T/www.log" &
	PIDS+=($!)
done
for ((i = 0; i < 100; i++)); do
	in_a curl -s -o /dev/null "http://$IP_B:$WPORT/big.bin" && in_a curl -s -o /dev/null "http://[$IP6_B]:$WPORT/big.bin" && break
	sleep 0.1
done
: >"$T/www.log"

# ---- 1: REDIRECT in the client's namespace, -s ----
PPORT=3128
in_a nft -f - <<EOF || bad "nft in A"
table ip umpa_t {
	chain out {
		type nat hook output priority -100;
		ip daddr $IP_B tcp dport $WPORT ip saddr != 10.77.0.11 redirect to :$PPORT
	}
}
EOF
PROXY_NS=$NS_A proxy_start out -l 127.0.0.1:$PPORT -s 10.77.0.11 --c2s log -v || exit 1
got=$(in_a timeout 20 curl -s "http://$IP_B:$WPORT/big.bin" | sha256sum)
[ "$got" = "$WANT" ] && ok "OUTPUT REDIRECT: 1 MB through the transparent proxy, SHA-256 equal" ||
	bad "OUTPUT REDIRECT: SHA-256 differs"
grep -q "\"dst\":\"$IP_B\",\"dstport\":$WPORT" "$T/out.out" &&
	ok "the proxy's module saw the original destination $IP_B:$WPORT" || bad "log module: $(head -c 300 "$T/out.out")"
grep -q "^10\.77\.0\.11 .*GET /big.bin" "$T/www.log" && ok "the server saw the source address 10.77.0.11 (-s)" ||
	bad "server log: $(cat "$T/www.log")"
# a client that connects to the proxy itself: rejected, the proxy goes on
in_a timeout 10 curl -s "http://127.0.0.1:$PPORT/big.bin" >/dev/null && bad "a direct connection was relayed"
got=$(in_a timeout 20 curl -s "http://$IP_B:$WPORT/big.bin" | sha256sum)
[ "$got" = "$WANT" ] && ok "after the direct connection the proxy still relays" || bad "second fetch differs"
proxy_stop out
grep -q 'not redirected' "$T/out.err" && ok "direct connection: $(grep -o 'transparent: not redirected[^(]*' "$T/out.err")" ||
	bad "no 'not redirected' line: $(cat "$T/out.err")"
echo "$SUMMARY" | grep -q '3 connections: 2 done.*; 1 rejected' && ok "summary: 2 done, 1 rejected" || bad "summary: $SUMMARY"
in_a nft delete table ip umpa_t

# ---- 2: REDIRECT in B's PREROUTING, IPv4 and IPv6, two listeners ----
QPORT=3129
in_b nft -f - <<EOF || bad "nft in B"
table inet umpa_t {
	chain pre {
		type nat hook prerouting priority -100;
		tcp dport $WPORT redirect to :$QPORT
	}
}
EOF
: >"$T/www.log"
PROXY_NS=$NS_B proxy_start pre -l $IP_B:$QPORT -l "[$IP6_B]:$QPORT" -v || exit 1
for u in "$IP_B" "[$IP6_B]"; do
	got=$(in_a timeout 20 curl -s "http://$u:$WPORT/big.bin" | sha256sum)
	[ "$got" = "$WANT" ] && ok "PREROUTING REDIRECT to $u:$WPORT: SHA-256 equal" || bad "PREROUTING $u: SHA-256 differs"
done
proxy_stop pre
echo "$SUMMARY" | grep -q '2 connections: 2 done' && ok "summary: $SUMMARY" || bad "summary: $SUMMARY"
grep -q "connected to $IP6_B:$WPORT" "$T/pre.err" && grep -q "connected to $IP_B:$WPORT" "$T/pre.err" &&
	ok "the proxy connected to both original destinations" || bad "$(cat "$T/pre.err")"
grep -q "^$IP_B .*GET /big.bin" "$T/www.log" && grep -q "^$IP6_B .*GET /big.bin" "$T/www.log" &&
	! grep -q "^$IP_A \|^$IP6_A " "$T/www.log" && ok "the server's clients were the proxy, not A" ||
	bad "server log: $(cat "$T/www.log")"
in_b nft delete table inet umpa_t

# ---- 3: TPROXY ----
RPORT=3130
in_b nft -f - <<EOF || bad "nft tproxy in B"
table ip umpa_tp {
	chain pre {
		type filter hook prerouting priority mangle;
		ip saddr $IP_A tcp dport $WPORT tproxy to :$RPORT meta mark set 1 accept
	}
}
EOF
PROXY_NS=$NS_B proxy_start tproxy -l 0.0.0.0:$RPORT --tproxy -v || exit 1
got=$(in_a timeout 20 curl -s "http://$IP_B:$WPORT/big.bin" | sha256sum)
[ "$got" = "$WANT" ] && ok "TPROXY: SHA-256 equal" || bad "TPROXY: SHA-256 differs: $(tail -3 "$T/tproxy.err")"
proxy_stop tproxy
echo "$SUMMARY" | grep -q '1 connections: 1 done' && grep -q "connected to $IP_B:$WPORT" "$T/tproxy.err" &&
	ok "TPROXY: the proxy relayed it to the original destination" || bad "TPROXY: $(cat "$T/tproxy.err")"

# ---- 4: TPROXY on a router with --spoof-source: the server sees the client's address ----
# A (10.77.0.1) -- B (router, the proxy) -- C (10.79.0.2, the server); B marks what TPROXY takes and the
# server's answers to a spoofed socket (socket transparent), and delivers marked packets locally (table 100)
NS_C="umpa-transp-$$-c"
ip netns add "$NS_C" && NS_CREATED+=("$NS_C")
ip -n "$NS_B" link add veth-bc type veth peer name veth-c netns "$NS_C"
ip -n "$NS_C" link set lo up
ip -n "$NS_B" addr add 10.79.0.1/24 dev veth-bc
ip -n "$NS_C" addr add 10.79.0.2/24 dev veth-c
ip -n "$NS_B" link set veth-bc up
ip -n "$NS_C" link set veth-c up
ip -n "$NS_C" route add default via 10.79.0.1
in_a ip route add 10.79.0.0/24 via $IP_B
in_b sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
in_b ip rule add fwmark 1 lookup 100
in_b ip route add local 0.0.0.0/0 dev lo table 100
(cd "$T/www" && exec ip netns exec "$NS_C" timeout 60 python3 -m http.server $WPORT --bind 10.79.0.2) \
	>/dev/null 2>>"$T/wwwc.log" &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	in_b curl -s -o /dev/null "http://10.79.0.2:$WPORT/big.bin" && break
	sleep 0.1
done
in_b nft -f - <<EOF || bad "nft tproxy (router) in B"
table ip umpa_sp {
	chain pre {
		type filter hook prerouting priority mangle;
		meta l4proto tcp socket transparent 1 meta mark set 1 accept
		ip saddr $IP_A ip daddr 10.79.0.2 tcp dport $WPORT tproxy to :$RPORT meta mark set 1 accept
	}
}
EOF
for spoof in "" --spoof-source; do
	: >"$T/wwwc.log"
	PROXY_NS=$NS_B proxy_start spoof$spoof -l 0.0.0.0:$RPORT --tproxy $spoof -v || exit 1
	got=$(in_a timeout 20 curl -s "http://10.79.0.2:$WPORT/big.bin" | sha256sum)
	proxy_stop spoof$spoof
	want_src=$([ -n "$spoof" ] && echo "$IP_A" || echo 10.79.0.1)
	[ "$got" = "$WANT" ] && grep -q "^$want_src .*GET /big.bin" "$T/wwwc.log" &&
		ok "TPROXY router ${spoof:-without --spoof-source}: SHA-256 equal, the server saw $want_src" ||
		bad "TPROXY router ${spoof:-plain}: $(cat "$T/wwwc.log") $(tail -3 "$T/spoof$spoof.err")"
done

exit $fail
