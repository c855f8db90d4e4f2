#!/usr/bin/env bash
# proxy_tls.sh - `umpa proxy -w` and the proxy's TLS options on loopback, tshark as the oracle.
#  1. -w of a plain relay (curl to python3's http.server): the pcapng holds both legs (client <->
#     proxy, proxy <-> server) with their real addresses and ports, the request on each, and tshark
#     finds no TCP analysis problem (lost segment, ACKed unseen, out of order) in it.
#  2. -w with --tls-mitm to `openssl s_server -www`, TLS 1.3 and TLS 1.2 (no --keylog): tshark,
#     from the file alone (its Decryption Secrets Blocks), decrypts the request and the answer on
#     all four legs.
#  3. per-leg TLS options through the option table: --upstream-tls version=1.2 with a client
#     certificate (client_cert/client_key) towards an s_server that demands one, --client-tls
#     version=1.3 (curl limited to TLS 1.2 is refused, TLS 1.3 passes); the pcapng shows TLS 1.2
#     upstream legs and TLS 1.3 client legs.  --static-cert serves a given certificate for its
#     name (curl verifies it with that certificate as CA); --passthrough relays a matching SNI
#     untouched (curl sees the real server's certificate).
#  4. bad input: an unknown leg option, an option of the wrong side, a bad value, a static
#     certificate that does not load, leg options without --tls-mitm: one line, exit 2.
#  5. STARTTLS: an SMTP server with STARTTLS (tests/proxy/peer.py smtp) behind --tls-mitm -m sslupgrade:
#     the proxy relays the greeting (the client is silent: plaintext), sees STARTTLS and the server's
#     220, upgrades both legs; `openssl s_client -starttls smtp` verifies the leaf with the proxy's
#     CA and gets the server's answer from inside TLS; the pcapng decrypts on both legs.
#  6. peek_ssl on a plain relay of TLS: the log line of the connection carries the tag "ssl".
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init proxytls curl python3 openssl tshark timeout
# wait_closed NAME N: until proxy NAME (run with -v) logged N connections closed
wait_closed() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'closed (' "$T/$1.err")" -ge "$2" ] && return 0
		sleep 0.1
	done
	bad "$1: $2 connections did not close: $(tail -3 "$T/$1.err")"
}
# wait_port PORT: until something accepts on 127.0.0.1:PORT
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# tls_follow FILE STREAM PORTS...: the decrypted text of TCP stream STREAM (ports decoded as TLS)
tls_follow() {
	local f=$1 s=$2 d=() p
	shift 2
	for p in "$@"; do d+=(-d "tcp.port==$p,tls"); done
	tshark -r "$f" "${d[@]}" -q -z "follow,tls,ascii,$s" 2>/dev/null
}

# ---- 1: -w of a plain relay ----
mkdir -p "$T/www"
echo "hello from the plain server" >"$T/www/a.txt"
WPORT=$(freeport)
(cd "$T/www" && exec timeout 60 python3 -m http.server "$WPORT" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$WPORT" || bad "http.server did not start"
proxy_start plain -l 127.0.0.1:0 -t 127.0.0.1:$WPORT -w "$T/plain.pcapng" -v || exit 1
got=$(timeout 20 curl -s "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "hello from the plain server" ] && ok "plain: curl through the proxy" || bad "plain: curl got '$got'"
wait_closed plain 1
proxy_stop plain
grep -q 'packets written to' "$T/plain.err" && ok "plain: $(grep -o '[0-9]* packets written' "$T/plain.err")" ||
	bad "plain: no packet count: $(cat "$T/plain.err")"
# one tshark pass: stream, ports, FIN, request, answer
tshark -r "$T/plain.pcapng" -d tcp.port==$LPORT,http -d tcp.port==$WPORT,http -T fields -E 'separator=|' \
	-e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.flags.fin -e http.request.uri -e http.response.code \
	>"$T/plain.txt" 2>/dev/null
convs=$(cut -d'|' -f1 "$T/plain.txt" | sort -u | wc -l)
[ "$convs" = 2 ] && ok "plain: 2 TCP conversations (both legs)" || bad "plain: $convs conversations"
reqs=$(awk -F'|' '$5 == "/a.txt" {print $3}' "$T/plain.txt" | sort | tr '\n' ' ')
[ "$reqs" = "$(printf '%s\n' $LPORT $WPORT | sort | tr '\n' ' ')" ] && ok "plain: the request on both legs (ports $reqs)" ||
	bad "plain: requests to ports '$reqs' (want $LPORT and $WPORT)"
resp=$(awk -F'|' '$6 == "200" {print $2}' "$T/plain.txt" | sort | tr '\n' ' ')
[ "$resp" = "$(printf '%s\n' $LPORT $WPORT | sort | tr '\n' ' ')" ] && ok "plain: the answer on both legs" ||
	bad "plain: answers from ports '$resp'"
probs=$(tshark -r "$T/plain.pcapng" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.out_of_order || tcp.analysis.retransmission || _ws.malformed' 2>/dev/null | wc -l)
[ "$probs" = 0 ] && ok "plain: tshark finds no TCP analysis problem" || bad "plain: $probs frames with TCP analysis problems"
fins=$(awk -F'|' '$4 == "1" || $4 == "True"' "$T/plain.txt" | wc -l)
[ "$fins" = 4 ] && ok "plain: 4 FINs (both legs closed both ways)" || bad "plain: $fins FINs"

# ---- 2: -w with the TLS man-in-the-middle, TLS 1.3 and 1.2, from the file alone ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-subj /CN=www.example.test -addext subjectAltName=DNS:www.example.test,DNS:alt.example.test -days 3 \
	>/dev/null 2>&1 || bad "openssl req"
SPORT=$(freeport)
timeout 60 openssl s_server -accept 127.0.0.1:$SPORT -cert "$T/srv.crt" -key "$T/srv.key" -www -quiet >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$SPORT" || bad "s_server did not start"
proxy_start mitm -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --ca-dir "$T/ca" -w "$T/mitm.pcapng" -v || exit 1
for v in 1.3 1.2; do
	got=$(timeout 20 curl -s --tlsv$v --tls-max $v --cacert "$T/ca/ca.crt" --resolve alt.example.test:$LPORT:127.0.0.1 \
		"https://alt.example.test:$LPORT/" | head -1)
	[ -n "$got" ] && ok "mitm TLS $v: curl got the page" || bad "mitm TLS $v: curl failed"
done
wait_closed mitm 2
proxy_stop mitm
convs=$(tshark -r "$T/mitm.pcapng" -q -z conv,tcp 2>/dev/null | grep -c '<->')
[ "$convs" = 4 ] && ok "mitm: 4 TCP conversations" || bad "mitm: $convs conversations"
vers=$(tshark -r "$T/mitm.pcapng" -d tcp.port==$LPORT,tls -d tcp.port==$SPORT,tls -Y 'tls.handshake.type == 2' \
	-T fields -e tls.handshake.extensions.supported_version 2>/dev/null | sort | tr '\n' ' ')
[ "$vers" = " 0x0304 0x0304 0x0304 " ] && ok "mitm: three TLS 1.3 legs and the TLS 1.2 client leg (the upstream leg negotiates its own)" ||
	bad "mitm: ServerHello versions '$vers'"
n=0 miss=""
for s in 0 1 2 3; do
	txt=$(tls_follow "$T/mitm.pcapng" $s $LPORT $SPORT)
	if echo "$txt" | grep -q '^GET / HTTP/1.1' && echo "$txt" | grep -q '^HTTP/1.0 200 ok'; then
		n=$((n + 1))
	else # what that leg holds, for the record: its packets and TLS records as tshark sees them
		miss+=" [stream $s: $(tshark -r "$T/mitm.pcapng" -d tcp.port==$LPORT,tls -d tcp.port==$SPORT,tls \
			-Y "tcp.stream == $s" -T fields -e frame.number -e tcp.srcport -e tcp.len -e tls.record.content_type \
			2>/dev/null | tr '\n\t' '; ' | head -c 600)]"
	fi
done
[ $n = 4 ] && ok "mitm: tshark decrypts request and answer on all 4 legs from the pcapng alone" ||
	bad "mitm: decrypted $n of 4 legs;$miss; $(grep -c . "$T/mitm.err") log lines: $(grep -i 'warn\|fail\|closed' "$T/mitm.err" | head -5)"
probs=$(tshark -r "$T/mitm.pcapng" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.out_of_order || _ws.malformed' 2>/dev/null | wc -l)
[ "$probs" = 0 ] && ok "mitm: tshark finds no TCP analysis problem" || bad "mitm: $probs frames with TCP analysis problems"

# ---- 3: per-leg options, a client certificate upstream, static certificates, passthrough ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/cli.key" -out "$T/cli.crt" \
	-subj /CN=umpa-client -days 3 >/dev/null 2>&1
APORT=$(freeport)
timeout 60 openssl s_server -accept 127.0.0.1:$APORT -cert "$T/srv.crt" -key "$T/srv.key" -www -quiet -Verify 1 \
	-CAfile "$T/cli.crt" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$APORT" || bad "s_server with client auth did not start"
proxy_start legs -l 127.0.0.1:0 -t 127.0.0.1:$APORT --tls-mitm --ca-dir "$T/ca" -w "$T/legs.pcapng" -v \
	--upstream-tls version=1.2 --upstream-tls client_cert="$T/cli.crt" --upstream-tls client_key="$T/cli.key" \
	--client-tls version=1.3 --static-cert "www.example.test=$T/srv.crt:$T/srv.key" --passthrough '*.pass.test' || exit 1
got=$(timeout 20 curl -s --cacert "$T/ca/ca.crt" --resolve alt.example.test:$LPORT:127.0.0.1 \
	"https://alt.example.test:$LPORT/" | head -1)
[ -n "$got" ] && ok "legs: TLS 1.3 client through, the upstream (TLS 1.2) took the client certificate" ||
	bad "legs: curl through failed"
timeout 20 curl -s --tls-max 1.2 --cacert "$T/ca/ca.crt" --resolve alt.example.test:$LPORT:127.0.0.1 \
	"https://alt.example.test:$LPORT/" >/dev/null 2>&1
[ $? = 35 ] && ok "legs: --client-tls version=1.3 refuses a TLS 1.2 client" || bad "legs: a TLS 1.2 client was not refused"
got=$(timeout 20 curl -s --cacert "$T/srv.crt" --resolve www.example.test:$LPORT:127.0.0.1 \
	"https://www.example.test:$LPORT/" | head -1)
[ -n "$got" ] && ok "legs: --static-cert served www.example.test's own certificate (curl verified it)" ||
	bad "legs: static certificate not served"
issuer=$(timeout 20 curl -s -k --cert "$T/cli.crt" --key "$T/cli.key" --resolve x.pass.test:$LPORT:127.0.0.1 \
	-o /dev/null -w '%{certs}' "https://x.pass.test:$LPORT/" 2>/dev/null | sed -n 's/^Issuer: *//p' | head -1)
[ "$issuer" = "CN = www.example.test" ] || [ "$issuer" = "CN=www.example.test" ] &&
	ok "legs: --passthrough: curl got the real server's certificate through" || bad "legs: passthrough: issuer '$issuer'"
wait_closed legs 4
proxy_stop legs
grep -q '1 passed through' "$T/legs.err" && grep -q "SNI 'x.pass.test': passed through" "$T/legs.err" &&
	ok "legs: the summary counts the connection passed through" || bad "legs: $(tail -2 "$T/legs.err")"
up=$(tshark -r "$T/legs.pcapng" -Y "tls.handshake.type == 2 && tcp.srcport == $APORT" -T fields \
	-e tls.handshake.extensions.supported_version 2>/dev/null | sort | uniq -c | awk '{print $1 ":" $2}' | tr '\n' ' ')
cl=$(tshark -r "$T/legs.pcapng" -d tcp.port==$LPORT,tls -Y "tls.handshake.type == 2 && tcp.srcport == $LPORT" \
	-T fields -e tls.handshake.extensions.supported_version 2>/dev/null | sort | uniq -c | awk '{print $1 ":" $2}' | tr '\n' ' ')
# upstream: 3 intercepted connections at TLS 1.2 (no supported_versions), 1 passthrough at TLS 1.3
[ "$up" = "3: 1:0x0304 " ] && ok "legs: pcapng: 3 upstream legs at TLS 1.2, the passed-through one at 1.3" ||
	bad "legs: upstream ServerHellos '$up'"
[ "$cl" = "3:0x0304 " ] && ok "legs: pcapng: TLS 1.3 on the 3 client legs with a ServerHello (2 intercepted, 1 passed through)" || bad "legs: client ServerHellos '$cl'"

# ---- 4: bad input ----
for args in "--upstream-tls nosuch=1" "--upstream-tls send_server=x" "--client-tls mss=100" \
	"--upstream-tls version=9.9" "--static-cert www.x=$T/nonexistent.pem" "--static-cert bad"; do
	out=$("$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$APORT --tls-mitm --ca-dir "$T/ca" $args --duration 1 2>&1 |
		grep -v 'CA .* loaded')
	rc=${PIPESTATUS[0]}
	[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && ok "$args: exit 2: $out" || bad "$args: exit $rc: $out"
done
out=$("$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$APORT --passthrough x 2>&1)
[ $? = 2 ] && echo "$out" | grep -q 'needs --tls-mitm' && ok "--passthrough without --tls-mitm: $out" || bad "passthrough alone: $out"

# ---- 5: STARTTLS (SMTP) ----
python3 "$top_srcdir/tests/proxy/peer.py" smtp "$T/smtp.port" 30 "$T/srv.crt" "$T/srv.key" &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$T/smtp.port" ] && break; sleep 0.1; done
MPORT=$(cat "$T/smtp.port" 2>/dev/null)
proxy_start smtp -l 127.0.0.1:0 -t 127.0.0.1:$MPORT --tls-mitm --ca-dir "$T/ca" -m sslupgrade -w "$T/smtp.pcapng" -v ||
	exit 1
got=$(printf 'EHLO me\r\nQUIT\r\n' | timeout 20 openssl s_client -starttls smtp -connect 127.0.0.1:$LPORT \
	-CAfile "$T/ca/ca.crt" -verify_return_error -verify_hostname www.example.test -quiet 2>/dev/null)
echo "$got" | grep -q '^250 secure hello EHLO me' && echo "$got" | grep -q '^221 bye' &&
	ok "STARTTLS: s_client verified the proxy's leaf and talked to the server inside TLS" ||
	bad "STARTTLS: s_client got '$got'"
wait_closed smtp 1
proxy_stop smtp
grep -q 'tls 1 (0 failed, .* 1 by STARTTLS)' "$T/smtp.err" && ok "STARTTLS: counted in the summary" ||
	bad "STARTTLS summary: $(tail -2 "$T/smtp.err")"
n=0
for s in 0 1; do
	txt=$(tls_follow "$T/smtp.pcapng" $s $LPORT $MPORT)
	echo "$txt" | grep -q '^EHLO me' && echo "$txt" | grep -q '^250 secure hello EHLO me' && n=$((n + 1))
done
[ $n = 2 ] && ok "STARTTLS: tshark decrypts the TLS part of both legs from the pcapng alone" ||
	bad "STARTTLS: $n of 2 legs decrypted"
plain=$(tshark -r "$T/smtp.pcapng" -Y "tcp.srcport == $MPORT" -T fields -e tcp.payload 2>/dev/null | head -3 |
	xxd -r -p 2>/dev/null | head -c 20)
[ "$plain" = "220 umpa.test ESMTP" ] || [ "${plain%$'\r'}" = "220 umpa.test ESMTP" ] &&
	ok "STARTTLS: the plaintext greeting is in the capture" || bad "STARTTLS: greeting '$plain'"

# ---- 6: peek_ssl on a plain relay ----
proxy_start peek -l 127.0.0.1:0 -t 127.0.0.1:$SPORT -m peek_ssl,log || exit 1
timeout 20 curl -s -k --tlsv1.2 --tls-max 1.2 "https://127.0.0.1:$LPORT/" >/dev/null
proxy_stop peek
grep -q '"tags":\["ssl"\]' "$T/peek.out" && ok "peek_ssl: the connection is tagged ssl" ||
	bad "peek_ssl: $(head -c 300 "$T/peek.out")"

exit $fail
