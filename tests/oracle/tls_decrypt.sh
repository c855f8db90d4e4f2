#!/usr/bin/env bash
# tls_decrypt.sh - `umpa show` decrypting TLS and dissecting HTTP/1.1, against tshark.
#
# 1. `umpa tls` conversations (TLS 1.2 AES-128/256-GCM, ChaCha20-Poly1305, AES-CBC with
#    encrypt-then-MAC; TLS 1.3 AES-128/256-GCM, ChaCha20-Poly1305; one with 7-byte segments,
#    reordered and duplicated): written as pcapng, umpa decrypts them from the Decryption
#    Secrets Block and must show, frame by frame, the same HTTP fields (method, URI, version,
#    status, Host, Content-Length, ...) as tshark; written as pcap, the same from --keylog; a 40 KB
#    response over three records is shown whole where it ends, as tshark shows it.
# 2. Real peers on loopback: curl (SSLKEYLOGFILE) against `openssl s_server -HTTP`, TLS 1.2
#    and 1.3, captured by tcpdump, the secrets put into the file by `editcap --inject-secrets`;
#    and HTTP over plain TCP: curl against a server that sends its header and a chunked body in
#    separate segments (reassembly).  The same comparison with tshark.
# 3. A damaged record and a wrong key: each encrypted record says "cannot decrypt" with the
#    reason, the others still decrypt, exit 0.
# 4. TLS 1.3 handshake messages over several encrypted records and 0-RTT early data: `umpa tls`
#    with a 2048-bit RSA certificate in 512-byte records and with --early-data, then real peers
#    (`openssl s_client -sess_out`, then `-sess_in -early_data` against `openssl s_server
#    -early_data -max_send_frag 512`, over loopback, early data accepted, and rejected by a
#    restarted server): per frame the same handshake message types and certificate DNS names as
#    tshark (messages reassembled from decrypted records), the early HTTP request, no record left
#    undecrypted; a key log without CLIENT_EARLY_TRAFFIC_SECRET says so for the early records only.
#    And a conversation tls13_coalesce.py writes with handshake records cut where OpenSSL never cuts
#    them (messages coalesced in a record, a message header split across two), checked the same way.
# Exit 0 pass, 1 fail, 77 skip (no tshark / editcap).  Part 2 needs root for tcpdump on lo.
set -uo pipefail

UMPA=${UMPA:-${top_builddir:-.}/umpa}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
for t in tshark editcap; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "tls_decrypt: $t missing: skipped"
		exit 77
	fi
done
. "$HERE/../tmpdir.sh"
dir=$(umpa_tmpdir tls-decrypt) || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	umpa_tmpdir_done "$dir"
}
trap cleanup EXIT

fail=0
TF=(-T fields -E occurrence=a -E aggregator=, -e frame.number -e http.request.method -e http.request.uri
	-e http.request.version -e http.response.version -e http.response.code -e http.response.phrase -e http.host
	-e http.content_length -e http.content_type -e http.server -e http.user_agent)

# compare FILE LABEL [umpa options...] [-- tshark options...]
compare() {
	local f=$1 label=$2 uo=() to=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do uo+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	to=("$@")
	if ! timeout 60 "$UMPA" show --json "${uo[@]}" "$f" >"$dir/u.json" 2>"$dir/err"; then
		echo "FAIL [$label]: umpa show: $(head -1 "$dir/err")"
		fail=1
		return
	fi
	timeout 60 tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE "${to[@]}" "${TF[@]}" >"$dir/t.txt" 2>/dev/null
	"$PY" "$HERE/tls_decrypt.py" "$dir/u.json" "$dir/t.txt" "$label" --min "${CMP_MIN:-2}" || fail=1
	for form in "" -v; do # the other forms run
		timeout 60 "$UMPA" show $form "${uo[@]}" "$f" >/dev/null 2>"$dir/err" || {
			echo "FAIL [$label]: umpa show $form: $(head -1 "$dir/err")"
			fail=1
		}
	done
}

# compare_hs FILE LABEL MIN [umpa options...] [-- tshark options...]: handshake types and certificate names
compare_hs() {
	local f=$1 label=$2 min=$3 uo=() to=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do uo+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	to=("$@")
	if ! timeout 60 "$UMPA" show --json "${uo[@]}" "$f" >"$dir/u.json" 2>"$dir/err"; then
		echo "FAIL [$label]: umpa show: $(head -1 "$dir/err")"
		fail=1
		return
	fi
	timeout 60 tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE "${to[@]}" -T fields -E occurrence=a \
		-E aggregator=, -e frame.number -e tls.handshake.type -e x509ce.dNSName >"$dir/t.txt" 2>/dev/null
	"$PY" "$HERE/tls_decrypt.py" "$dir/u.json" "$dir/t.txt" "$label" --handshake --min "$min" || fail=1
}

# ---- 1. umpa tls conversations ----
req='GET /index.html HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: umpa-test\r\nAccept: */*\r\n\r\n'
resp='HTTP/1.1 200 OK\r\nServer: umpa\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n'
configs=(
	"--version 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256"
	"--version 1.2 --ciphers ECDHE-ECDSA-AES256-GCM-SHA384 --key-type ec:P-256"
	"--version 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305"
	"--version 1.2 --ciphers ECDHE-RSA-AES128-SHA256"
	"--version 1.3 --ciphersuites TLS_AES_128_GCM_SHA256"
	"--version 1.3 --ciphersuites TLS_AES_256_GCM_SHA384"
	"--version 1.3 --ciphersuites TLS_CHACHA20_POLY1305_SHA256 --segment 7 --reorder 0.3 --dup 0.2 --seed 3"
)
n=0
for cfg in "${configs[@]}"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! timeout 30 "$UMPA" tls -q $cfg --sni www.example.test --send-client "$req" --send-server "$resp" \
		-w "$dir/c$n.pcapng" 2>"$dir/err"; then
		echo "FAIL [$cfg]: umpa tls: $(head -1 "$dir/err")"
		fail=1
		continue
	fi
	compare "$dir/c$n.pcapng" "secrets block: $cfg"
done
# the same as pcap with a key log file (tshark: tls.keylog_file)
if timeout 30 "$UMPA" tls -q --version 1.3 --send-client "$req" --send-server "$resp" -w "$dir/k.pcap" \
	--keylog "$dir/k.log" 2>"$dir/err"; then
	compare "$dir/k.pcap" "--keylog, TLS 1.3" --keylog "$dir/k.log" -- -o "tls.keylog_file:$dir/k.log"
else
	echo "FAIL [--keylog]: umpa tls: $(head -1 "$dir/err")"
	fail=1
fi

# an HTTP response of 40 KB: three TLS records, shown whole in the frame of the last one
"$PY" -c 'import sys; b = b"y" * 40000
sys.stdout.buffer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(b) + b)' \
	>"$dir/big.http"
if timeout 30 "$UMPA" tls -q --version 1.3 --send-client "$req" --send-server "@$dir/big.http" -w "$dir/big.pcapng" \
	2>"$dir/err"; then
	compare "$dir/big.pcapng" "an HTTP response over three TLS records"
else
	echo "FAIL [big response]: umpa tls: $(head -1 "$dir/err")"
	fail=1
fi

# ---- 4. (umpa tls) handshake messages over several encrypted records; 0-RTT early data ----
if timeout 30 "$UMPA" tls -q --version 1.3 --key-type rsa:2048 --max-record 512 --sni www.example.test \
	--send-client "$req" --send-server "$resp" -w "$dir/split.pcapng" 2>"$dir/err"; then
	out=$(timeout 30 "$UMPA" show "$dir/split.pcapng" 2>&1)
	if grep -q 'reassembled: TLSv1.3 Certificate' <<<"$out"; then
		compare_hs "$dir/split.pcapng" "TLS 1.3 Certificate over 512-byte encrypted records" 4
	else
		echo "FAIL [TLS 1.3 split Certificate]: no reassembled Certificate shown"
		fail=1
	fi
else
	echo "FAIL [TLS 1.3 split Certificate]: umpa tls: $(head -1 "$dir/err")"
	fail=1
fi
early='GET /early HTTP/1.1\r\nHost: www.example.test\r\n\r\n'
if timeout 30 "$UMPA" tls -q --version 1.3 --early-data "$early" --send-client "$req" --send-server "$resp" \
	-w "$dir/early.pcapng" --keylog "$dir/early.log" 2>"$dir/err"; then
	compare_hs "$dir/early.pcapng" "0-RTT early data (umpa tls)" 6
	compare "$dir/early.pcapng" "0-RTT early data (umpa tls): HTTP"
	out=$(timeout 30 "$UMPA" show "$dir/early.pcapng" 2>&1)
	if ! grep -q 'decrypted 0-RTT: HTTP: GET /early' <<<"$out"; then
		echo "FAIL [0-RTT]: the early request is not shown as decrypted 0-RTT data"
		fail=1
	fi
	# without the early secret: the early records (the request, EndOfEarlyData) say why, the rest decrypts
	grep -v CLIENT_EARLY_TRAFFIC_SECRET "$dir/early.log" >"$dir/noearly.log"
	editcap --discard-all-secrets "$dir/early.pcapng" "$dir/early0.pcapng" 2>/dev/null
	out=$(timeout 30 "$UMPA" show "$dir/early0.pcapng" --keylog "$dir/noearly.log" 2>&1)
	nbad=$(grep -o "cannot decrypt: no CLIENT_EARLY_TRAFFIC_SECRET" <<<"$out" | wc -l)
	nall=$(grep -o "cannot decrypt" <<<"$out" | wc -l)
	if [ "$nbad" = 2 ] && [ "$nall" = 2 ] && grep -q "decrypted: HTTP: GET /index.html" <<<"$out"; then
		echo "ok   [0-RTT without its secret]: the 2 early records say why, the rest decrypts"
	else
		echo "FAIL [0-RTT without its secret]: $nbad early records said why, $nall cannot decrypt in all"
		fail=1
	fi
else
	echo "FAIL [0-RTT]: umpa tls: $(head -1 "$dir/err")"
	fail=1
fi

# records framed as OpenSSL never frames them (tls13_coalesce.py): two messages ending in one record, a 5-byte
# record inside the Certificate, a message header split across records
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ckey.pem" -outform DER \
	-out "$dir/c.der" -days 2 -subj /CN=coalesce.test -addext subjectAltName=DNS:coalesce.test,DNS:www.coalesce.test \
	2>/dev/null
if "$PY" "$HERE/tls13_coalesce.py" "$dir/c.der" "$dir/co.pcap" "$dir/co.log" 2>"$dir/err"; then
	compare_hs "$dir/co.pcap" "TLS 1.3 handshake records coalesced and split, a header across records" 3 \
		--keylog "$dir/co.log" -- -o "tls.keylog_file:$dir/co.log"
	compare "$dir/co.pcap" "TLS 1.3 coalesced and split records: HTTP after them" --keylog "$dir/co.log" -- \
		-o "tls.keylog_file:$dir/co.log"
else
	echo "FAIL [coalesced records]: tls13_coalesce.py: $(tail -1 "$dir/err") (python3-scapy, python3-cryptography)"
	fail=1
fi

# ---- 3. damaged records, wrong keys: a clear line per record, never a crash ----
f=$dir/c5.pcapng
if [ -f "$f" ]; then
	# flip one byte inside the client's encrypted request (the frame tshark shows the GET in)
	fr=$(tshark -r "$f" -Y 'http.request' -T fields -e frame.number 2>/dev/null | head -1)
	"$PY" - "$f" "$dir/bad.pcapng" "$fr" <<'PYEOF'
import sys, struct
src, dst, frame = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, "rb").read())
pos, k = 0, 0
while pos < len(b):
    t, ln = struct.unpack_from("<II", b, pos)
    if t == 6:  # enhanced packet block: flip the last-but-20th byte of its data (inside the record's ciphertext)
        k += 1
        if k == frame:
            caplen = struct.unpack_from("<I", b, pos + 20)[0]
            b[pos + 28 + caplen - 20] ^= 0x40
    pos += ln
open(dst, "wb").write(b)
PYEOF
	out=$(timeout 30 "$UMPA" show "$dir/bad.pcapng" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -q "cannot decrypt: authentication failed" <<<"$out" &&
		grep -q "decrypted: HTTP: HTTP/1.1 200 OK" <<<"$out"; then
		echo "ok   [damaged record]: one record cannot be decrypted (said so), the response still is"
	else
		echo "FAIL [damaged record]: exit $rc, no 'cannot decrypt' line or the response lost"
		fail=1
	fi
	# a key log whose secrets are wrong: every encrypted record says why, exit 0
	editcap --discard-all-secrets "$f" "$dir/nokeys.pcapng" 2>/dev/null
	"$PY" - "$f" "$dir/wrong.log" <<'PYEOF'
import sys, struct
# the right client random with the secrets flipped: read them from the file's own secrets block
b = open(sys.argv[1], "rb").read()
pos, text = 0, b""
while pos < len(b):
    t, ln = struct.unpack_from("<II", b, pos)
    if t == 10:
        n = struct.unpack_from("<I", b, pos + 12)[0]
        text += b[pos + 16 : pos + 16 + n]
    pos += ln
out = []
for line in text.decode().splitlines():
    w = line.split()
    if len(w) == 3:
        w[2] = ("%x" % (int(w[2][0], 16) ^ 1)) + w[2][1:]
        out.append(" ".join(w))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PYEOF
	out=$(timeout 30 "$UMPA" show "$dir/nokeys.pcapng" --keylog "$dir/wrong.log" 2>&1)
	rc=$?
	nbad=$(grep -o "cannot decrypt" <<<"$out" | wc -l)
	if [ $rc -eq 0 ] && [ "$nbad" -ge 6 ] && ! grep -q "decrypted:" <<<"$out"; then
		echo "ok   [wrong keys]: $nbad records say they cannot be decrypted, none shown as decrypted"
	else
		echo "FAIL [wrong keys]: exit $rc, $nbad 'cannot decrypt' lines"
		fail=1
	fi
	# TLS 1.0 (other key derivation, implicit IVs): not decrypted, and said so per record
	if timeout 30 "$UMPA" tls -q --version 1.0 --security-level 0 -w "$dir/t10.pcapng" 2>/dev/null; then
		out=$(timeout 30 "$UMPA" show "$dir/t10.pcapng" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && grep -q "cannot decrypt: only TLS 1.2 and 1.3" <<<"$out" && ! grep -q "decrypted:" <<<"$out"; then
			echo "ok   [TLS 1.0]: not decrypted, and each record says why"
		else
			echo "FAIL [TLS 1.0]: exit $rc, no reason given or records shown as decrypted"
			fail=1
		fi
	fi
	out=$(timeout 30 "$UMPA" show "$f" --keylog /dev/null 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -q "keylog" <<<"$out"; then
		echo "ok   [empty key log]: a usage error naming --keylog"
	else
		echo "FAIL [empty key log]: exit $rc: $out"
		fail=1
	fi
fi

# ---- 2. real peers on loopback ----
if [ "$(id -u)" != 0 ] || ! command -v tcpdump >/dev/null || ! command -v curl >/dev/null; then
	echo "tls_decrypt: not root or no tcpdump/curl: real-peer part skipped"
	[ "${CI:-}" = true ] && fail=1
else
	freeport() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
	# start tcpdump on lo for port $1 into $2; its pid in $tdpid once it listens
	capture() {
		tcpdump -i lo --immediate-mode -U -w "$2" "tcp port $1" 2>"$dir/td.err" &
		tdpid=$!
		pids+=("$tdpid")
		for _ in $(seq 100); do grep -q listening "$dir/td.err" 2>/dev/null && return 0; sleep 0.05; done
		return 1
	}
	stop_capture() {
		sleep 0.2
		kill -INT "$tdpid" 2>/dev/null
		wait "$tdpid" 2>/dev/null
	}
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
		-out "$dir/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
	mkdir -p "$dir/www"
	printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nServer: s_server\r\n\r\nhello\n' \
		>"$dir/www/r.txt"
	for v in 1.2 1.3; do
		port=$(freeport)
		(cd "$dir/www" && exec timeout 20 openssl s_server -accept "127.0.0.1:$port" -cert "$dir/cert.pem" \
			-key "$dir/key.pem" -HTTP -naccept 1 -quiet) >/dev/null 2>&1 &
		pids+=($!)
		capture "$port" "$dir/real$v.pcap" || { echo "FAIL [curl TLS $v]: tcpdump did not start"; fail=1; continue; }
		ok=0
		for _ in $(seq 50); do
			SSLKEYLOGFILE=$dir/curl$v.log timeout 10 curl -sk --tlsv$v --tls-max $v -o /dev/null \
				"https://127.0.0.1:$port/r.txt" && { ok=1; break; }
			sleep 0.1
		done
		stop_capture
		if [ $ok = 0 ] || [ ! -s "$dir/curl$v.log" ]; then
			echo "FAIL [curl TLS $v]: no exchange with openssl s_server (or no key log)"
			fail=1
			continue
		fi
		editcap --inject-secrets "tls,$dir/curl$v.log" "$dir/real$v.pcap" "$dir/real$v.pcapng" 2>/dev/null
		compare "$dir/real$v.pcapng" "curl + openssl s_server, TLS $v, editcap secrets block"
		compare "$dir/real$v.pcap" "curl + openssl s_server, TLS $v, --keylog" --keylog "$dir/curl$v.log" -- \
			-o "tls.keylog_file:$dir/curl$v.log"
	done
	# HTTP over TCP: the header, then a chunked body in three more segments
	port=$(freeport)
	"$PY" - "$port" <<'PYEOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
c.settimeout(10)
c.recv(65536)
for part in (b"HTTP/1.1 200 OK\r\nServer: chunky\r\nContent-Type: text/plain\r\n",
             b"Transfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n", b"7\r\n, world\r\n", b"0\r\n\r\n"):
    c.sendall(part)
    time.sleep(0.05)
time.sleep(0.2)
c.close()
PYEOF
	pids+=($!)
	if capture "$port" "$dir/http.pcap"; then
		for _ in $(seq 50); do
			timeout 10 curl -s -o /dev/null -A umpa-curl "http://127.0.0.1:$port/chunked" && break
			sleep 0.1
		done
		stop_capture
		compare "$dir/http.pcap" "HTTP over TCP: header and chunked body over 5 segments"
		if ! "$UMPA" show "$dir/http.pcap" | grep -q "reassembled from frames"; then
			echo "FAIL [HTTP over TCP]: the response was not reassembled"
			fail=1
		fi
	else
		echo "FAIL [HTTP over TCP]: tcpdump did not start"
		fail=1
	fi
	# 0-RTT and a Certificate over 512-byte records between openssl s_client and s_server. s_server
	# serves NACCEPT connections, reading its stdin (kept open by sleep) until the last one ends.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/rkey.pem" -out "$dir/rcert.pem" -days 2 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,DNS:www.localhost 2>/dev/null
	printf 'GET /zero-rtt HTTP/1.1\r\nHost: localhost\r\n\r\n' >"$dir/early.txt"
	s_server() { # PORT NACCEPT
		(sleep 15) | timeout 20 openssl s_server -accept "127.0.0.1:$1" -cert "$dir/rcert.pem" \
			-key "$dir/rkey.pem" -early_data -max_send_frag 512 -naccept "$2" >"$dir/srv.out" 2>&1 &
		spid=$!
		pids+=("$spid")
		for _ in $(seq 100); do grep -q ACCEPT "$dir/srv.out" 2>/dev/null && return 0; sleep 0.05; done
		return 1
	}
	s_client() { # PORT LOG ARGS...: stdin open half a second, for the session tickets
		local p=$1 log=$2
		shift 2
		(sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$p" -keylogfile "$log" "$@" >"$dir/cli.out" 2>&1
	}
	for mode in accepted rejected; do
		port=$(freeport)
		rm -f "$dir/sess.pem"
		capture "$port" "$dir/zrtt-$mode.pcap" || { echo "FAIL [0-RTT $mode]: tcpdump did not start"; fail=1; continue; }
		if [ $mode = accepted ]; then
			s_server "$port" 2
			s_client "$port" "$dir/zrtt-$mode.log" -sess_out "$dir/sess.pem"
		else # a new server process has new ticket keys: the resumption and its early data are refused
			s_server "$port" 1
			s_client "$port" "$dir/zrtt-$mode.log" -sess_out "$dir/sess.pem"
			wait "$spid" 2>/dev/null
			s_server "$port" 1
		fi
		s_client "$port" "$dir/zrtt-$mode.log" -sess_in "$dir/sess.pem" -early_data "$dir/early.txt"
		stop_capture
		if ! grep -q "Early data was $mode" "$dir/cli.out"; then
			echo "FAIL [0-RTT $mode]: openssl s_client did not say 'Early data was $mode'"
			fail=1
			continue
		fi
		lbl="openssl s_client -early_data, $mode, Certificate in 512-byte records"
		compare_hs "$dir/zrtt-$mode.pcap" "$lbl" 6 --keylog "$dir/zrtt-$mode.log" -- \
			-o "tls.keylog_file:$dir/zrtt-$mode.log"
		# the early request (decrypted also when rejected, as tshark does; compare_hs saw no record fail)
		[ $mode = accepted ] && CMP_MIN=1 compare "$dir/zrtt-$mode.pcap" "$lbl: HTTP" --keylog \
			"$dir/zrtt-$mode.log" -- -o "tls.keylog_file:$dir/zrtt-$mode.log"
	done
fi
[ $fail -eq 0 ] && echo "tls_decrypt: umpa decrypts and dissects HTTP as tshark does"
exit $fail
