#!/usr/bin/env bash
# starttls.sh - `umpa proxy --tls-mitm -m sslupgrade` upgrading IMAP, POP3 and FTP connections (STARTTLS, STLS,
# AUTH TLS) on loopback; tests/proxy/proxy_tls.sh does SMTP.  The servers are tests/proxy/peer.py
# (python3's ssl: the plaintext greeting and upgrade, then answers inside TLS); the client is
# `openssl s_client -starttls imap|pop3|ftp`, which verifies the proxy's leaf with the proxy's CA.  For each
# protocol:
#  1. s_client gets the server's answers from inside TLS (through both upgraded legs);
#  2. the summary counts one connection upgraded by STARTTLS, no TLS failure;
#  3. the -w pcapng decrypts in tshark from the file alone on both legs (the commands and the answers), and
#     holds the plaintext greeting.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init starttls python3 openssl tshark timeout
SRC=$(cd "$top_srcdir" && pwd)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-subj /CN=mail.example.test -addext subjectAltName=DNS:mail.example.test -days 2 >/dev/null 2>&1 ||
	bad "openssl req"

# proto  s_client's name  what to send inside TLS  what must come back  the greeting
cases=(
	"imap|imap|a1 NOOP\r\na2 LOGOUT\r\n|a1 OK secure NOOP|a2 OK bye|* OK umpa.test IMAP4rev1 ready"
	"pop3|pop3|NOOP\r\nQUIT\r\n|+OK secure NOOP|+OK bye|+OK umpa.test POP3 ready"
	"ftp|ftp|PWD\r\nQUIT\r\n|200 secure PWD|221 bye|220 umpa.test FTP ready"
)
for c in "${cases[@]}"; do
	IFS='|' read -r proto sname send want1 want2 greet <<<"$c"
	python3 "$SRC/tests/proxy/peer.py" $proto "$T/$proto.port" 30 "$T/srv.crt" "$T/srv.key" &
	PIDS+=($!)
	wait_file "$T/$proto.port" 100 || {
		bad "$proto: server did not start"
		continue
	}
	SPORT=$(cat "$T/$proto.port")
	"$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --ca-dir "$T/ca" -m sslupgrade \
		-w "$T/$proto.pcapng" -v >"$T/$proto.out" 2>"$T/$proto.err" &
	PP=$!
	PIDS+=($PP)
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$T/$proto.err" 2>/dev/null && break
		sleep 0.1
	done
	LPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/$proto.err" | head -1)
	got=$(printf "$send" | timeout 20 openssl s_client -starttls $sname -connect 127.0.0.1:$LPORT \
		-CAfile "$T/ca/ca.crt" -verify_return_error -verify_hostname mail.example.test -quiet 2>"$T/$proto.sc" | tr -d '\r')
	echo "$got" | grep -qxF "$want1" && echo "$got" | grep -qxF "$want2" &&
		ok "$proto: s_client -starttls $sname verified the proxy's leaf, the server answered inside TLS" ||
		bad "$proto: s_client got '$got' ($(tail -2 "$T/$proto.sc"))"
	for ((i = 0; i < 100; i++)); do
		grep -q 'closed (' "$T/$proto.err" && break
		sleep 0.1
	done
	kill -TERM $PP
	wait $PP || bad "$proto: proxy exit status $?"
	grep -q 'tls 1 (0 failed, .* 1 by STARTTLS)' "$T/$proto.err" && ok "$proto: the summary counts 1 STARTTLS upgrade" ||
		bad "$proto: summary: $(tail -2 "$T/$proto.err")"
	# one tshark pass: both legs decrypted (follow,tls) and the upstream leg's bytes as sent (follow,tcp)
	txt=$(tshark -r "$T/$proto.pcapng" -d tcp.port==$LPORT,tls -d tcp.port==$SPORT,tls -q -z "follow,tls,ascii,0" \
		-z "follow,tls,ascii,1" -z "follow,tcp,ascii,1" 2>/dev/null | tr -d '\r')
	n1=$(echo "$txt" | grep -cxF "$want1")
	n=$(echo "$txt" | grep -cxF "$want2")
	[ "$n1" = 2 ] && [ "$n" = 2 ] && ok "$proto: tshark decrypts both legs from the pcapng alone" ||
		bad "$proto: the answers on $n1 and $n legs (want 2)"
	echo "$txt" | grep -q "^[[:space:]]*$(printf '%s' "$greet" | sed 's/[*.]/\\&/g')\$" &&
		ok "$proto: the plaintext greeting is in the capture" || bad "$proto: no greeting '$greet' in the capture"
done
exit $fail
