#!/usr/bin/env bash
# socks.sh - `umpa proxy --socks5` (RFC 1928 CONNECT, RFC 1929 username/password) in a pair of network
# namespaces: the proxy and the clients in A, python3's http.server in B (10.77.0.2 and [fd00:77::2]) and on
# A's loopback (for a name).
#  1. curl --socks5 through two listeners (-l 10.77.0.1, -l [fd00:77::1]): an IPv4 and an IPv6 destination
#     (address types 1 and 4), 1 MB each, SHA-256 equal; curl --socks5-hostname http://localhost:...
#     (address type 3, the name resolved by the proxy on its loop): the page arrives; curl --socks4 (1 MB)
#     and --socks4a (the name) on the same listener; the log module (-m log) saw each connection with its
#     destination (and the name as hostname).
#  2. reply codes, byte for byte (tests/proxy/socks_client.py): a closed port -> 5 (refused), no route ->
#     3 (network unreachable), an unreachable route -> 4 (host unreachable), a name under .invalid -> 4,
#     BIND -> 7 (command not supported), address type 9 -> 8, a request of version 4 -> 1; SOCKS4 BIND and
#     SOCKS4 to a closed port -> 91; version byte 6: closed without a reply; each a one-line note; curl
#     still works after them all.
#  3. -w: the pcapng holds both legs: tshark decodes the SOCKS5 CONNECT on the client leg and the HTTP
#     request on both.
#  4. --socks5-auth user:pass: curl with the right password gets the page, a wrong one is refused (method
#     0x02, status 1) and logged, and so is a SOCKS4 client (no password to give: 91).
#  5. --tls-mitm behind --socks (the same as --socks5): curl's TLS after the SOCKS reply is intercepted (the connected upstream
#     socket upgraded), curl verifies the leaf with the proxy's CA, the module sees the plaintext.
# Needs root; skips (77) otherwise.  Nothing leaves the namespaces; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools curl python3 sha256sum timeout tshark openssl
CLIENT="python3 $(cd "$top_srcdir" && pwd)/tests/proxy/socks_client.py"
. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir socks) || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair socks || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
fail=0
. "$top_srcdir/tests/proxy/lib.sh" # ok, bad, proxy_start, proxy_stop (in $PROXY_NS)
PROXY_NS=$NS_A
in_a ip route add unreachable 10.98.0.0/16

# ---- servers: B on both addresses, A on loopback ----
WPORT=8080
APORT=8081
mkdir -p "$T/www"
head -c 1000000 /dev/urandom >"$T/www/big.bin"
echo "hello over a name" >"$T/www/a.txt"
WANT=$(sha256sum <"$T/www/big.bin")
# the server for 'localhost' takes IPv4 and IPv6 (::, v4-mapped): the hosts file may name either first
for a in "$NS_B|$IP_B|$WPORT" "$NS_B|$IP6_B|$WPORT" "$NS_A|::|$APORT"; do
	IFS='|' read -r ns addr port <<<"$a"
	(cd "$T/www" && exec ip netns exec "$ns" timeout 60 python3 -m http.server "$port" --bind "$addr") >/dev/null 2>&1 &
	PIDS+=($!)
done
for ((i = 0; i < 100; i++)); do
	in_a curl -s -o /dev/null "http://$IP_B:$WPORT/a.txt" && in_a curl -s -o /dev/null "http://[$IP6_B]:$WPORT/a.txt" &&
		in_a curl -s -o /dev/null "http://127.0.0.1:$APORT/a.txt" && break
	sleep 0.1
done

# ---- 1: curl through two listeners, three address types ----
SP=1080
proxy_start socks -l $IP_A:$SP -l "[$IP6_A]:$SP" --socks5 --c2s log -w "$T/socks.pcapng" -v || exit 1
got=$(in_a timeout 20 curl -s --socks5 $IP_A:$SP "http://$IP_B:$WPORT/big.bin" | sha256sum)
[ "$got" = "$WANT" ] && ok "curl --socks5 (IPv4 listener, IPv4 destination): 1 MB, SHA-256 equal" || bad "IPv4: SHA-256 differs"
got=$(in_a timeout 20 curl -s --socks5 "[$IP6_A]:$SP" "http://[$IP6_B]:$WPORT/big.bin" | sha256sum)
[ "$got" = "$WANT" ] && ok "curl --socks5 (IPv6 listener, IPv6 destination): 1 MB, SHA-256 equal" || bad "IPv6: SHA-256 differs"
got=$(in_a timeout 20 curl -s --socks5-hostname $IP_A:$SP "http://localhost:$APORT/a.txt")
[ "$got" = "hello over a name" ] && ok "curl --socks5-hostname localhost: the name resolved by the proxy" ||
	bad "name: curl got '$got'"
got=$(in_a timeout 20 curl -s --socks4 $IP_A:$SP "http://$IP_B:$WPORT/big.bin" | sha256sum)
[ "$got" = "$WANT" ] && ok "curl --socks4 (the same listener): 1 MB, SHA-256 equal" || bad "SOCKS4: SHA-256 differs"
got=$(in_a timeout 20 curl -s --socks4a $IP_A:$SP "http://localhost:$APORT/a.txt")
[ "$got" = "hello over a name" ] && ok "curl --socks4a localhost: the name resolved by the proxy" ||
	bad "SOCKS4a: curl got '$got'"
grep -q "\"dst\":\"$IP_B\",\"dstport\":$WPORT" "$T/socks.out" && grep -q "\"dst\":\"$IP6_B\",\"dstport\":$WPORT" "$T/socks.out" &&
	grep -q '"dst":"\(127.0.0.1\|::1\)","dstport":'$APORT',"hash":"[0-9a-f]*","hostname":"localhost"' "$T/socks.out" &&
	ok "log module: the three destinations, the name as hostname" || bad "log module: $(cut -c1-200 "$T/socks.out")"

# ---- 2: reply codes ----
# WANT|WHAT|CASE: socks_client.py's answer to CASE; one client process runs them all
cases=(
	"method 0 rep 5 eof|closed port: connection refused|connect 1 $IP_B 9"
	"method 0 rep 3 eof|no route: network unreachable|connect 1 10.99.0.1 80"
	"method 0 rep 4 eof|unreachable route: host unreachable|connect 1 10.98.0.1 80"
	"method 0 rep 4 eof|a name under .invalid: host unreachable|connect 3 nosuch.invalid 80"
	"method 0 rep 7 eof|BIND: command not supported|raw 050100 05020001000000000000"
	"method 0 rep 8 eof|address type 9: not supported|raw 050100 0501000901020304"
	"method 0 rep 1 eof|request of version 4: general failure|raw 050100 0401000101020304"
	"socks4 91|SOCKS4 BIND: rejected (91)|socks4 040200500a4d00027500"
	"socks4 91|SOCKS4 to a closed port: rejected (91)|socks4 040100090a4d00027500"
	"closed|version byte 6: closed without a reply|raw 0601 00"
	"method 255|no acceptable method (only username/password offered)|raw 050102 00"
)
printf '%s\n' "${cases[@]}" | cut -d'|' -f3 | in_a timeout 60 $CLIENT $IP_A $SP batch >"$T/codes.txt" 2>&1
for ((k = 0; k < ${#cases[@]}; k++)); do
	IFS='|' read -r want what _ <<<"${cases[k]}"
	got=$(sed -n "$((k + 1))p" "$T/codes.txt")
	[ "$got" = "$want" ] && ok "$what: $got" || bad "$what: got '$got', want '$want'"
done
got=$(in_a timeout 20 curl -s --socks5 $IP_A:$SP "http://$IP_B:$WPORT/a.txt")
[ "$got" = "hello over a name" ] && ok "after the bad requests the proxy still relays" || bad "after bad requests: '$got'"
proxy_stop socks
for w in 'upstream 10.77.0.2:9: Connection refused' 'upstream 10.99.0.1:80: Network is unreachable' \
	'upstream 10.98.0.1:80: No route to host' "'nosuch.invalid': a name under .invalid never resolves" \
	'command BIND not supported' 'address type not supported' 'nor a SOCKS4 request (version byte 6)' \
	'SOCKS4: command BIND not supported' 'SOCKS4 CONNECT localhost:' \
	'offers no method without authentication'; do
	grep -qF "$w" "$T/socks.err" && ok "logged: $w" || bad "not logged: $w"
done
echo "$SUMMARY" | grep -q '17 connections: 6 done, 0 aborted, 5 refused, 0 reset, 0 errors.*; 6 rejected' &&
	ok "summary: 6 done, 5 refused, 6 rejected" || bad "summary: $SUMMARY"

# ---- 3: the capture ----
tshark -r "$T/socks.pcapng" -T fields -E separator='|' -e tcp.stream -e tcp.dstport -e socks.command \
	-e http.request.uri -d tcp.port==$SP,socks -d tcp.port==$WPORT,http -d tcp.port==$APORT,http \
	>"$T/cap.txt" 2>/dev/null
n=$(awk -F'|' '$2 == '$SP' && $3 == 1' "$T/cap.txt" | wc -l)
[ "$n" -ge 3 ] && ok "pcapng: tshark decodes $n SOCKS5 CONNECTs on the client legs" || bad "pcapng: $n CONNECTs"
n=$(awk -F'|' '$2 == '$WPORT' && $4 == "/big.bin"' "$T/cap.txt" | wc -l)
m=$(awk -F'|' '$2 == '$SP' && $4 == "/big.bin"' "$T/cap.txt" | wc -l)
[ "$n" = 3 ] && [ "$m" = 3 ] && ok "pcapng: the HTTP request on both legs of the three fetches" ||
	bad "pcapng: /big.bin requests: $n upstream, $m client legs"

# ---- 4: username/password ----
proxy_start auth -l $IP_A:1081 --socks5 --socks5-auth 'umpa:s3cret' -v || exit 1
got=$(in_a timeout 20 curl -s -x "socks5://umpa:s3cret@$IP_A:1081" "http://$IP_B:$WPORT/a.txt")
[ "$got" = "hello over a name" ] && ok "--socks5-auth: the right password passes" || bad "auth: curl got '$got'"
in_a timeout 20 curl -s -x "socks5://umpa:wrong@$IP_A:1081" "http://$IP_B:$WPORT/a.txt" >/dev/null &&
	bad "a wrong password passed"
in_a timeout 20 curl -s --socks4 $IP_A:1081 "http://$IP_B:$WPORT/a.txt" >/dev/null && bad "SOCKS4 passed --socks5-auth"
proxy_stop auth
grep -q 'wrong username or password' "$T/auth.err" && grep -q 'SOCKS4: refused (--socks5-auth demands a password' "$T/auth.err" &&
	echo "$SUMMARY" | grep -q '3 connections: 1 done.*2 rejected' &&
	ok "--socks5-auth: the wrong password and a SOCKS4 client were refused and logged" || bad "auth: $(cat "$T/auth.err")"

# ---- 5: --tls-mitm behind SOCKS5: the client's TLS is intercepted after the reply ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-subj /CN=www.example.test -addext subjectAltName=DNS:www.example.test -days 2 >/dev/null 2>&1
ip netns exec "$NS_B" timeout 60 openssl s_server -accept $IP_B:4433 -cert "$T/srv.crt" -key "$T/srv.key" -www \
	-quiet >/dev/null 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	in_a timeout 5 openssl s_client -connect $IP_B:4433 </dev/null >/dev/null 2>&1 && break
	sleep 0.1
done
proxy_start mitm -l $IP_A:1082 --socks --tls-mitm --ca-dir "$T/ca" --c2s log -v || exit 1
got=$(in_a timeout 20 curl -s --socks5 $IP_A:1082 --cacert "$T/ca/ca.crt" --resolve www.example.test:4433:$IP_B \
	"https://www.example.test:4433/" | head -1)
[ -n "$got" ] && ok "SOCKS5 + --tls-mitm: curl verified the proxy's leaf and got the page" || bad "SOCKS5 + mitm: nothing"
proxy_stop mitm
grep -q '"hostname":"www.example.test"' "$T/mitm.out" && echo "$SUMMARY" | grep -q 'tls 1 (0 failed' &&
	ok "SOCKS5 + --tls-mitm: the log module saw the plaintext request, SNI as hostname" ||
	bad "SOCKS5 + mitm: $SUMMARY $(head -c 300 "$T/mitm.out")"

exit $fail
