#!/usr/bin/env bash
# mitm_data.sh - the bytes of `umpa proxy --tls-mitm` connections, both ways at once, under backpressure.
# Once a TLS leg's handshake is done the proxy reads it ahead and writes it directly while nothing waits
# (sched/proxy.c: tls_own, tls_read_cb, tls_send); a write that meets a full socket leaves its record to the
# bufferevent.  Real peers (Python's ssl, which is OpenSSL): a TLS echo server behind the proxy, and
# concurrent TLS clients that verify the proxy's leaf with its CA, each sending 8 MiB while reading the echo
# and pausing its reading for 1 s (so the proxy's writes to it block, its input fills up and the upstream is
# paused); every echo must match what was sent (SHA-256), on a TLS 1.3 and a TLS 1.2 upstream leg, with the
# pcapng tap on in the second (its BIO under SSL_read and SSL_write).  The summary counts every byte.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init mitm_data openssl python3 timeout

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-subj /CN=data.example.test -addext subjectAltName=DNS:data.example.test -days 3 >/dev/null 2>&1 ||
	bad "openssl req"
python3 "$top_srcdir/tests/proxy/mitm_data.py" server "$T/srv.crt" "$T/srv.key" "$T/echo.port" 100 &
PIDS+=($!)
wait_file "$T/echo.port" || bad "the echo server did not start"
EPORT=$(cat "$T/echo.port")
N=3
MB=8
for leg in 1.3 1.2; do
	extra=()
	[ $leg = 1.2 ] && extra=(--upstream-tls version=1.2 -w "$T/data.pcapng")
	proxy_start data$leg -l 127.0.0.1:0 -t 127.0.0.1:$EPORT --tls-mitm --ca-dir "$T/ca" "${extra[@]}" || exit 1
	got=$(timeout 150 python3 "$top_srcdir/tests/proxy/mitm_data.py" client $LPORT "$T/ca/ca.crt" data.example.test \
		$N $MB 1 2>&1)
	[ "$got" = "ok $N $((N * MB << 20))" ] &&
		ok "upstream TLS $leg${extra[*]:+ (with -w)}: $N clients x $MB MiB each way, paused readers: every echo matches" ||
		bad "upstream TLS $leg: $got"
	proxy_stop data$leg
	bytes=$((N * MB << 20))
	echo "$SUMMARY" | grep -q "$N done, 0 aborted.* c2s $bytes in $bytes out, s2c $bytes in $bytes out; tls $N (0 failed" &&
		ok "upstream TLS $leg: the summary counts every byte: ${SUMMARY#*: }" || bad "summary: $SUMMARY"
done
[ -s "$T/data.pcapng" ] && ok "the tapped run wrote its pcapng" || bad "no pcapng"
exit $fail
