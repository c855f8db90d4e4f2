#!/usr/bin/env bash
# mitm_resume.sh - `umpa proxy --tls-mitm` resumes the upstream leg's TLS session per server name.
# The oracle is the upstream itself: `openssl s_server -www` answers each request with a page that says
# whether the handshake of that connection was "New" or "Reused".  Through the proxy, three curl
# connections with SNI a.example.test (TLS 1.2 and 1.3 on the client leg; the upstream leg is TLS 1.2
# by --upstream-tls): the first upstream handshake is new, the next ones reuse it; a connection with
# another name (b.example.test) starts a session of its own; the client leg is a full handshake with
# the proxy's leaf every time (curl verifies it with the proxy's CA).  A client that aborts its leg (it does
# not trust the proxy's CA) does not spoil the kept session: the next connection still resumes it.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init mitm_resume openssl curl python3 timeout

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-subj /CN=a.example.test -addext subjectAltName=DNS:a.example.test,DNS:b.example.test -days 3 \
	>/dev/null 2>&1 || bad "openssl req"
SPORT=$(freeport)
timeout 60 openssl s_server -accept 127.0.0.1:$SPORT -cert "$T/srv.crt" -key "$T/srv.key" -www -quiet \
	>/dev/null 2>&1 &
PIDS+=($!)
LPORT=$(freeport)
"$UMPA" proxy -v -l 127.0.0.1:$LPORT -t 127.0.0.1:$SPORT --tls-mitm --ca-dir "$T/ca" --upstream-tls version=1.2 \
	2>"$T/proxy.err" &
UPID=$!
PIDS+=($UPID)
for ((i = 0; i < 100; i++)); do
	grep -q 'listening on' "$T/proxy.err" && [ -s "$T/ca/ca.crt" ] && [ -n "$(ss -Hltn "sport = :$SPORT")" ] && break
	sleep 0.1
done
# get HOST TLSVERSION: the first word of the page's handshake line ("New" or "Reused")
get() {
	timeout 20 curl -s --tlsv$2 --tls-max $2 --cacert "$T/ca/ca.crt" --resolve $1:$LPORT:127.0.0.1 \
		"https://$1:$LPORT/" | sed -n 's/^\(New\|Reused\), TLSv1.2, .*/\1/p'
}
got="$(get a.example.test 1.2) $(get a.example.test 1.2) $(get a.example.test 1.3) $(get b.example.test 1.2) $(get b.example.test 1.3)"
[ "$got" = "New Reused Reused New Reused" ] &&
	ok "upstream handshakes (a, a, a, b, b): $got; curl verified the proxy's leaf each time" ||
	bad "upstream handshakes: '$got' (want New Reused Reused New Reused)"
n=$(grep -c 'connected to .*(TLS session resumed)' "$T/proxy.err")
[ "$n" = 3 ] && ok "the proxy logged 3 resumed upstream sessions" || bad "$n resumed in the log"
kill -TERM $UPID
wait $UPID

# A client that does not trust the proxy's CA ends its handshake with an alert, and the connection is aborted
# with its upstream leg (already connected) freed unshut: OpenSSL then marks that leg's session not
# resumable, and the kept session is that same object.  It must stay resumable.  Upstream TLS 1.3:
# a, untrusting client, a, untrusting client, a.
LPORT=$(freeport)
"$UMPA" proxy -v -l 127.0.0.1:$LPORT -t 127.0.0.1:$SPORT --tls-mitm --ca-dir "$T/ca" 2>"$T/proxy13.err" &
UPID=$!
PIDS+=($UPID)
for ((i = 0; i < 100; i++)); do grep -q 'listening on' "$T/proxy13.err" && break; sleep 0.1; done
get13() {
	timeout 20 curl -s --cacert "$T/ca/ca.crt" --resolve a.example.test:$LPORT:127.0.0.1 "https://a.example.test:$LPORT/" |
		sed -n 's/^\(New\|Reused\), TLSv1.3, .*/\1/p'
}
untrusting() {
	timeout 20 curl -s -o /dev/null --resolve a.example.test:$LPORT:127.0.0.1 "https://a.example.test:$LPORT/" &&
		bad "curl trusted the proxy's leaf without its CA"
	for ((i = 0; i < 100; i++)); do [ "$(grep -c 'closed (aborted)' "$T/proxy13.err")" = $1 ] && break; sleep 0.1; done
}
got=$(get13)
untrusting 1
got="$got $(get13)"
untrusting 2
got="$got $(get13)"
[ "$got" = "New Reused Reused" ] &&
	ok "upstream TLS 1.3 (a, untrusting, a, untrusting, a): $got: an aborted client leg does not spoil the kept session" ||
	bad "upstream TLS 1.3 (a, untrusting, a, untrusting, a): '$got' (want New Reused Reused); $(grep -c 'closed (aborted)' "$T/proxy13.err") aborted"
kill -TERM $UPID
wait $UPID
exit $fail
