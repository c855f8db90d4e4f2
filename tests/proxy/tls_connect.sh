#!/usr/bin/env bash
# tls_connect.sh - `umpa tls --connect` against `openssl s_server` on loopback.
#  1. a chain (CA -> leaf for www.example.test), TLS 1.3 and 1.2: handshake ok, verify 0, the chain
#     leaf first with subject, issuer and SANs, version, cipher and group as asked, --json parses.
#  2. a self-signed certificate (verify 18), an expired one (10), a wrong host name (62): reported,
#     exit 0; with --verify the wrong name fails the handshake (alert bad_certificate, exit 1).
#  3. client authentication: without a certificate the server's alert is reported (exit 1); with
#     --client-cert/--client-key the server answers.
#  4. -w: the conversation (--send-client, the answer read) in a pcapng that tshark decrypts alone;
#     --keylog holds the same secrets (mode 0600); --reconnect resumes the session.
#  5. bad input: a refused port (exit 1), a bad target, a pump-only option, an unreadable --ca (2).
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init tlsconnect openssl tshark python3 timeout
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# server NAME ARGS...: openssl s_server on a free port (PORT_NAME), stops by itself
server() {
	local name=$1 port
	shift
	port=$(freeport)
	timeout 60 openssl s_server -accept 127.0.0.1:$port "$@" -quiet >/dev/null 2>&1 &
	PIDS+=($!)
	wait_port $port || bad "s_server $name did not start"
	eval "PORT_$name=$port"
}
# run ARGS...: umpa tls --connect; OUT its output, RC its exit status
run() {
	OUT=$(timeout 30 "$UMPA" tls "$@" 2>&1)
	RC=$?
}

# ---- certificates: a CA and its leaf, a self-signed one, an expired one, a client's ----
cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 3 \
	-subj "/CN=umpa test root" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
	-subj /CN=www.example.test >/dev/null 2>&1
printf 'subjectAltName=DNS:www.example.test\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile leaf.ext -out leaf.crt \
	>/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key -out self.crt -days 3 \
	-subj /CN=self.example.test -addext subjectAltName=DNS:self.example.test >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key -out cli.crt -days 3 \
	-subj /CN=umpa-client >/dev/null 2>&1
python3 - <<'PY' || bad "expired certificate not made"
import datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old.example.test")])
c = (x509.CertificateBuilder().subject_name(n).issuer_name(n).public_key(k.public_key()).serial_number(7)
     .not_valid_before(datetime.datetime(2020, 1, 1)).not_valid_after(datetime.datetime(2020, 2, 1))
     .add_extension(x509.SubjectAlternativeName([x509.DNSName("old.example.test")]), False)
     .sign(k, hashes.SHA256()))
open("old.crt", "wb").write(c.public_bytes(serialization.Encoding.PEM))
open("old.key", "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
PY
server chain -cert leaf.crt -key leaf.key -cert_chain ca.crt -www
server self -cert self.crt -key self.key
server old -cert old.crt -key old.key
server auth -cert leaf.crt -key leaf.key -cert_chain ca.crt -Verify 1 -CAfile cli.crt -www

# ---- 1: the chain, TLS 1.3 and 1.2 ----
for v in 1.3 1.2; do
	run --connect 127.0.0.1:$PORT_chain --sni www.example.test --ca ca.crt --version $v
	if [ $RC = 0 ] && echo "$OUT" | grep -q '^Handshake: ok' && echo "$OUT" | grep -q "^Protocol: TLSv$v" &&
		echo "$OUT" | grep -q '^Verify return code: 0 (ok)' && echo "$OUT" | grep -q ' 0 s:CN=www.example.test' &&
		echo "$OUT" | grep -q '   i:CN=umpa test root' && echo "$OUT" | grep -q ' 1 s:CN=umpa test root' &&
		echo "$OUT" | grep -q '^   n:SAN: DNS:www.example.test$'; then
		ok "chain, TLS $v: ok, verify 0, leaf (with its SAN) and root"
	else
		bad "chain, TLS $v (exit $RC): $OUT"
	fi
done
run --connect 127.0.0.1:$PORT_chain --sni www.example.test --ca ca.crt --version 1.2 \
	--ciphers ECDHE-ECDSA-AES128-GCM-SHA256 --groups P-384:P-256 --json
if [ $RC = 0 ] && echo "$OUT" | python3 -c '
import json, sys
c = json.load(sys.stdin)["conversations"][0]
assert c["handshake_ok"] and c["verify_result"] == 0, c
assert c["cipher"] == "ECDHE-ECDSA-AES128-GCM-SHA256" and c["group"] == "secp384r1", c
assert c["server_chain"][0]["subject"] == "CN=www.example.test" and len(c["server_chain"]) == 2, c
assert c["server_chain"][0]["san"] == "DNS:www.example.test" and c["server_chain"][1]["san"] == "", c
assert c["sni"] == "www.example.test" and c["tls_bytes"]["server"] > 0, c
'; then ok "--json: the asked cipher and group, a 2-certificate chain"; else bad "--json (exit $RC): $OUT"; fi

# ---- 2: verification failures are reported ----
check_verify() { # NAME PORT SNI CODE
	run --connect 127.0.0.1:$2 --sni $3
	echo "$OUT" | grep -q "^Verify return code: $4 " && [ $RC = 0 ] && ok "$1: verify $4 reported ($(echo "$OUT" |
		sed -n 's/^Verify return code: //p'))" || bad "$1 (exit $RC): $OUT"
}
check_verify "self-signed" $PORT_self self.example.test 18
check_verify "expired" $PORT_old old.example.test 10
run --connect 127.0.0.1:$PORT_chain --sni wrong.example.test --ca ca.crt
echo "$OUT" | grep -q '^Verify return code: 62 (hostname mismatch)' && [ $RC = 0 ] &&
	ok "wrong host name: verify 62 reported" || bad "wrong host name (exit $RC): $OUT"
run --connect 127.0.0.1:$PORT_chain --sni wrong.example.test --ca ca.crt --verify
echo "$OUT" | grep -q '^Handshake: FAILED' && echo "$OUT" | grep -q '^Alert: sent by client: bad certificate' &&
	[ $RC = 1 ] && ok "--verify: the wrong name fails the handshake, exit 1" || bad "--verify (exit $RC): $OUT"

# ---- 3: client authentication ----
run --connect 127.0.0.1:$PORT_auth --sni www.example.test --ca ca.crt --send-client 'GET / HTTP/1.0\r\n\r\n'
echo "$OUT" | grep -q '^Alert: received from server' && [ $RC = 1 ] &&
	ok "client auth without a certificate: the server's alert, exit 1" || bad "no client cert (exit $RC): $OUT"
run --connect 127.0.0.1:$PORT_auth --sni www.example.test --ca ca.crt --client-cert=cli.crt --client-key cli.key \
	--send-client 'GET / HTTP/1.0\r\n\r\n'
echo "$OUT" | grep -q 'server sent [1-9]' && [ $RC = 0 ] && ok "client auth with --client-cert: the server answered" ||
	bad "client cert (exit $RC): $OUT"

# ---- 4: -w, --keylog, --reconnect ----
run --connect 127.0.0.1:$PORT_chain --sni www.example.test --ca ca.crt --send-client 'GET /x HTTP/1.0\r\n\r\n' \
	--reconnect -w conn.pcapng --keylog keys.txt
echo "$OUT" | grep -q '^Resumed: yes' && [ $RC = 0 ] && ok "--reconnect: the second connection resumed" ||
	bad "--reconnect (exit $RC): $OUT"
n=0
for s in 0 1; do
	txt=$(tshark -r conn.pcapng -d tcp.port==$PORT_chain,tls -q -z follow,tls,ascii,$s 2>/dev/null)
	echo "$txt" | grep -q '^GET /x HTTP/1.0' && echo "$txt" | grep -q '^HTTP/1.0 200 ok' && n=$((n + 1))
done
[ $n = 2 ] && ok "-w: tshark decrypts both connections from the pcapng alone" || bad "-w: $n of 2 decrypted"
[ "$(stat -c %a keys.txt)" = 600 ] && [ "$(grep -c CLIENT_TRAFFIC_SECRET_0 keys.txt)" = 2 ] &&
	ok "--keylog: mode 0600, a CLIENT_TRAFFIC_SECRET_0 per connection" || bad "--keylog: $(ls -l keys.txt)"

# ---- 5: bad input ----
dead=$(freeport)
run --connect 127.0.0.1:$dead
[ $RC = 1 ] && [ "$(echo "$OUT" | wc -l)" = 1 ] && echo "$OUT" | grep -q 'Connection refused' &&
	ok "refused: one line, exit 1: $OUT" || bad "refused (exit $RC): $OUT"
for args in "--connect 127.0.0.1" "--connect 127.0.0.1:1 --mss 100" "--connect 127.0.0.1:1 --ca /nonexistent"; do
	run $args
	[ $RC = 2 ] && [ "$(echo "$OUT" | wc -l)" = 1 ] && ok "$args: one line, exit 2: $OUT" || bad "$args (exit $RC): $OUT"
done

exit $fail
