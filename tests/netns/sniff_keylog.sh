#!/usr/bin/env bash
# sniff_keylog.sh - `umpa sniff --keylog FILE` decrypts TLS live, as `umpa show --keylog` does from a file.
#
# Namespace B (10.77.0.2) runs `openssl s_server -HTTP`; in namespace A, `umpa sniff -i veth-a --keylog
# FILE --json -w cap.pcap --print` captures while curl (SSLKEYLOGFILE=FILE, a file that does not exist when
# the capture starts: curl creates it and appends as it goes) fetches a page over TLS 1.3 and then over
# TLS 1.2.  Checks, with tshark reading the written file with the same key log as the oracle:
#   - frame by frame, the HTTP fields umpa printed live (decrypted) are tshark's, and no record is left
#     undecrypted (tests/oracle/tls_decrypt.py);
#   - --keylog with -w and no --print, or with --no-reassembly, is a usage error (exit 2), and so is a
#     key log path that is a directory, and --keylog-wait without --keylog;
#   - only packets of TLS connections whose secrets are missing wait: a UDP datagram sent right after a
#     TLS record whose secret never comes is printed at once, the record when the capture stops.
# Needs root, tshark, curl, openssl; skips (77) otherwise.  Every wait is bounded.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
HERE=$(cd "$(dirname "$0")" && pwd)
netns_require_root
netns_need_tools tshark curl openssl python3
. "$HERE/../tmpdir.sh"
T=$(umpa_tmpdir sniff_keylog) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair sniffkl || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT

# usage errors first (no capture needed)
in_a "$UMPA" sniff -i veth-a --keylog "$T/k.log" -w "$T/x.pcap" >/dev/null 2>"$T/e1"
check "--keylog with -w and no --print: usage error naming --print" [ $? -eq 2 ] && grep -q -- "--print" "$T/e1"
in_a "$UMPA" sniff -i veth-a --keylog "$T/k.log" --no-reassembly >/dev/null 2>"$T/e2"
check "--keylog with --no-reassembly: usage error" [ $? -eq 2 ]
in_a "$UMPA" sniff -i veth-a --keylog "$T" >/dev/null 2>"$T/e3"
check "--keylog DIRECTORY: usage error naming it" [ $? -eq 2 ] && grep -q "not a readable file" "$T/e3"

# Only packets of TLS connections whose secrets are missing wait.  B sends, back to back, a TLS record of a
# connection to port 443 that no key log line will ever name (the key log does not exist) and a UDP datagram;
# with --keylog-wait 30 the record waits longer than this test does, the datagram is printed at once; the
# record is printed when the capture stops, after it.  (Without the per-connection hold, the record came
# first: every packet waited.)
ip netns exec "$NS_A" "$UMPA" sniff -i veth-a --immediate --keylog "$T/none.log" --keylog-wait 30 --timeout 20 \
	tcp port 443 or udp port 9999 >"$T/order.txt" 2>"$T/order.err" &
ord=$!
for _ in $(seq 1 100); do
	grep -q "sniffing on" "$T/order.err" 2>/dev/null && break
	sleep 0.05
done
in_b "$UMPA" send -i veth-b "ether{dst=\"$MAC_A\"}/ip{src=\"10.77.0.2\", dst=\"10.77.0.1\"}/tcp{sport=40000, dport=443, flags=\"PA\"}/\"\\x17\\x03\\x03\\x00\\x05hello\"" \
	"ether{dst=\"$MAC_A\"}/ip{src=\"10.77.0.2\", dst=\"10.77.0.1\"}/udp{sport=9999, dport=9999}/\"plain\"" >/dev/null 2>"$T/send.err"
for _ in $(seq 1 100); do
	grep -q '\.9999: ' "$T/order.txt" && break
	sleep 0.1
done
udp_first() { grep -q '\.9999: ' "$T/order.txt" && ! grep -q '\.443: ' "$T/order.txt"; }
check "a UDP datagram is printed at once while the TLS record sent before it waits for its secret ($(head -c 200 "$T/order.txt"))" udp_first
kill -INT $ord 2>/dev/null
wait $ord
src=$?
# (A's kernel answers the record with a RST: of the same connection, it waits behind the record)
order_ok() {
	[ $src -eq 0 ] && sed -n 1p "$T/order.txt" | grep -q '\.9999: ' &&
		sed -n 2p "$T/order.txt" | grep -q '40000 > 10\.77\.0\.1\.443: .*Application Data' &&
		! sed -n '3,$p' "$T/order.txt" | grep -vq '10\.77\.0\.1\.443 > 10\.77\.0\.2\.40000: Flags \[R'
}
check "the waiting record is printed when the capture stops, after the datagram, the RST answering it after it (exit $src)" order_ok
in_a "$UMPA" sniff -i veth-a --keylog-wait 1 >/dev/null 2>"$T/e4"
check "--keylog-wait without --keylog: usage error" [ $? -eq 2 ]

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
	-days 2 -subj /CN=localhost 2>/dev/null
mkdir -p "$T/www"
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nServer: s_server\r\n\r\nhello\n' \
	>"$T/www/r.txt"
(cd "$T/www" && exec ip netns exec "$NS_B" timeout 20 openssl s_server -accept 10.77.0.2:4433 \
	-cert "$T/cert.pem" -key "$T/key.pem" -HTTP -naccept 2 -quiet) >/dev/null 2>&1 &
KL=$T/keys.log # created by curl, after the capture started
# not through in_a (a subshell): $! must be umpa itself, which takes SIGINT (--timeout bounds it)
ip netns exec "$NS_A" "$UMPA" sniff -i veth-a --immediate --keylog "$KL" --json -w "$T/cap.pcap" --print --timeout 20 \
	tcp port 4433 >"$T/out.json" 2>"$T/err" &
snf=$!
for _ in $(seq 1 100); do
	grep -q "sniffing on" "$T/err" 2>/dev/null && in_b ss -ltn 2>/dev/null | grep -q ":4433" && break
	sleep 0.05
done
ok=0
for v in 1.3 1.2; do
	for _ in $(seq 1 20); do
		if in_a env SSLKEYLOGFILE="$KL" timeout 10 curl -sk --tlsv$v --tls-max $v -o /dev/null \
			https://10.77.0.2:4433/r.txt; then
			ok=$((ok + 1))
			break
		fi
		sleep 0.1
	done
done
check "curl fetched the page over TLS 1.3 and 1.2" [ $ok -eq 2 ]
# both responses printed (decrypted: the capture itself is written in blocks), then the capture is stopped
for _ in $(seq 1 100); do
	[ "$(grep -c '"http.response.code":200' "$T/out.json")" -ge 2 ] && break
	sleep 0.1
done
kill -INT $snf 2>/dev/null
wait $snf
src=$?
check "sniff stopped by SIGINT with exit 0 (got $src)" [ $src -eq 0 ]

tshark -r "$T/cap.pcap" -o "tls.keylog_file:$KL" -T fields -E occurrence=a -E aggregator=, -e frame.number \
	-e http.request.method -e http.request.uri -e http.request.version -e http.response.version \
	-e http.response.code -e http.response.phrase -e http.host -e http.content_length -e http.content_type \
	-e http.server -e http.user_agent >"$T/t.txt" 2>/dev/null
check "live decryption: the HTTP fields tshark decrypts from the written file, frame by frame" \
	python3 "$top_srcdir/tests/oracle/tls_decrypt.py" "$T/out.json" "$T/t.txt" "sniff --keylog" --min 4
finish
