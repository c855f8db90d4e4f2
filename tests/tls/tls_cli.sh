#!/usr/bin/env bash
# tls_cli.sh - `umpa tls` from the command line: output formats, the key log
# (mode 0600) and the pcapng secrets block (tshark decrypts with either), the
# report (text and JSON) against what was asked, several conversations
# (sequential, interleaved, resumed, 0-RTT), packet comments, endpoints, a
# failing handshake (written, reported, exit 1) and bad input (one line
# naming the option, exit 2, no capture left).
#
# Each check prints "ok: ..." or "FAILED: ..."; the last line counts them.
# Needs tshark and /usr/bin/python3 (skipped, exit 77, without them).
# Environment: UMPA (the binary; default $top_builddir/umpa), top_builddir.
set -uo pipefail

top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
[ -x "$UMPA" ] || { echo "tls_cli: FAILED: no umpa binary at $UMPA"; exit 1; }
for tool in tshark /usr/bin/python3 xxd; do
	command -v $tool >/dev/null 2>&1 || { echo "tls_cli: $tool missing: skipped"; exit 77; }
done
PY=/usr/bin/python3

. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir tls-cli) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
START=$(date +%s)
PASS=0
FAIL=0
RC=0
LAST=()

check() { # NAME STATUS DETAIL
	if [ "$2" = 0 ]; then
		PASS=$((PASS + 1))
		echo "ok: $1"
	else
		FAIL=$((FAIL + 1))
		echo "FAILED: $1: $3"
		echo "    command: umpa ${LAST[*]}"
		echo "    exit $RC; stdout: $(head -c 300 "$T/out" | tr '\n' '|')"
		echo "    stderr: $(head -c 300 "$T/err" | tr '\n' '|')"
	fi
}
run() {
	LAST=("$@")
	timeout -k 5 60 "$UMPA" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
TS=(timeout -k 5 60 tshark -n)
# plain FILE STREAM [tshark options]: the decrypted bytes of each direction, "client-hex server-hex"
plain() {
	local f=$1 s=$2
	shift 2
	"${TS[@]}" -r "$f" "$@" -q -z "follow,tls,raw,$s" 2>/dev/null | awk '
		/^Node 0: / { srv = ($3 ~ /:443$/) }
		/^=+$/ { body = 0 } /^Node 1: / { body = 1; next }
		body && /^\t/ { gsub(/[\t ]/, ""); b = b $0; next }
		body && /^[0-9a-f]+$/ { a = a $0 }
		END { if (srv) { t = a; a = b; b = t } printf "%s %s\n", (a == "" ? "-" : a), (b == "" ? "-" : b) }'
}
hex() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

echo "== [$(($(date +%s) - START)) s] help"
run tls --help
[ $RC = 0 ] && grep -q -- '--send-client' "$T/out" && grep -q -- '--resume' "$T/out" && grep -q 'Exit status' "$T/out"
check "--help: exit 0, options and exit status described" $? ""
run --help
grep -q '^  tls ' "$T/err" "$T/out"
check "umpa --help lists tls" $? ""

echo "== [$(($(date +%s) - START)) s] one conversation, pcapng with its secrets, key log"
printf 'old' >"$T/keys.log"
chmod 644 "$T/keys.log"
printf 'GET /file HTTP/1.1\r\n\r\n' >"$T/req"
run tls --version 1.3 --sni www.umpa.test --alpn h2,http/1.1 --server-alpn http/1.1 --key-type ec:P-256 \
	--send-client @"$T/req" --send-server 'HTTP/1.1 200 OK\r\n\r\nhi\x21' --keylog "$T/keys.log" --seed 7 \
	-w "$T/one.pcapng"
[ $RC = 0 ] && [ "$(stat -c %a "$T/keys.log")" = 600 ] && grep -q '^SERVER_TRAFFIC_SECRET_0 ' "$T/keys.log" &&
	! grep -q old "$T/keys.log"
check "exit 0; key log rewritten with TLS 1.3 secrets, mode 0600 (it was 0644)" $? "mode $(stat -c %a "$T/keys.log")"
grep -q '^Protocol: TLSv1.3$' "$T/out" && grep -q '^ALPN protocol: http/1.1$' "$T/out" &&
	grep -q '^Server name (SNI): www.umpa.test$' "$T/out" && grep -q '^Verify return code: 0 (ok)$' "$T/out" &&
	grep -q '^ 0 s:CN=www.umpa.test,O=umpa$' "$T/out" && grep -q 'a:PKEY: EC P-256, 256 (bit)' "$T/out" &&
	grep -q '^Peer signature algorithm: ecdsa_secp256r1_sha256$' "$T/out"
check "report: version, ALPN, SNI, verification, chain, key, signature algorithm as asked" $? ""
[ "$(head -c 4 "$T/one.pcapng" | xxd -p)" = 0a0d0d0a ]
check ".pcapng extension: pcapng written" $? "$(head -c 4 "$T/one.pcapng" | xxd -p)"
printf 'HTTP/1.1 200 OK\r\n\r\nhi!' >"$T/resp"
want="$(xxd -p "$T/req" | tr -d '\n') $(xxd -p "$T/resp" | tr -d '\n')"
got=$(plain "$T/one.pcapng" 0)
[ "$got" = "$want" ]
check "tshark decrypts from the pcapng's own secrets block: both directions byte for byte (file and escapes)" $? \
	"got '$got' want '$want'"
editcap --discard-all-secrets "$T/one.pcapng" "$T/bare.pcapng" >/dev/null 2>&1
got=$(plain "$T/bare.pcapng" 0 -o "tls.keylog_file:$T/keys.log")
[ "$got" = "$want" ]
check "the key log file decrypts the same capture without its secrets block" $? "got '$got'"
"${TS[@]}" -r "$T/one.pcapng" -T fields -e frame.comment -e tcp.analysis.flags -e _ws.malformed \
	-e _ws.expert.severity 2>/dev/null >"$T/one.txt"
comments=$(cut -f1 "$T/one.txt" | grep -v '^$' | tr '\n' '|')
[ "$comments" = "ClientHello|ServerHello; ChangeCipherSpec; EncryptedExtensions; Certificate; CertificateVerify; Finished|ChangeCipherSpec; Finished|NewSessionTicket; NewSessionTicket|Application Data|Application Data|Alert close_notify|Alert close_notify|" ]
check "packet comments name the TLS messages that start in each packet" $? "$comments"
bad=$(awk -F'\t' '$2 != "" || $3 != "" || $4 ~ /6291456|8388608/' "$T/one.txt" | wc -l)
[ "$bad" = 0 ]
check "tshark: no TCP analysis flag, nothing malformed" $? "$bad packets flagged"
run tls --version 1.3 --key-type ec:P-256 --seed 7 -w "$T/same.pcapng" -q
a=$("$UMPA" show "$T/one.pcapng" 2>/dev/null | head -n 3)
b=$("$UMPA" show "$T/same.pcapng" 2>/dev/null | head -n 3)
[ -n "$a" ] && [ "$a" = "$b" ] && [ ! -s "$T/out" ]
check "--seed: the same TCP handshake again (ports, ISNs, timestamps); -q prints nothing" $? "'$a' vs '$b'"

echo "== [$(($(date +%s) - START)) s] formats and endpoints"
run tls --version 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 --client '[fd00::5]:5555' --server '[fd00::9]:8443' \
	--send-client ping --send-server pong --keylog "$T/k2" -w "$T/two.pcap"
[ $RC = 0 ] && [ "$(head -c 4 "$T/two.pcap" | xxd -p)" = 4d3cb2a1 ]
check ".pcap extension: pcap (nanosecond) written" $? "$(head -c 4 "$T/two.pcap" | xxd -p)"
ends=$("${TS[@]}" -r "$T/two.pcap" -T fields -e ipv6.src -e tcp.srcport -e ipv6.dst -e tcp.dstport 2>/dev/null | head -n 1)
[ "$ends" = "$(printf 'fd00::5\t5555\tfd00::9\t8443')" ]
check "--client/--server [V6]:PORT: IPv6 endpoints and ports as given" $? "$ends"
[ "$(plain "$T/two.pcap" 0 -o "tls.keylog_file:$T/k2")" = "$(hex ping) $(hex pong)" ] &&
	grep -q '^Cipher suite: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256$' "$T/out" && grep -q '^CLIENT_RANDOM ' "$T/k2"
check "TLS 1.2 with --ciphers: decrypts with the key log, RFC suite name reported" $? "$(grep Cipher "$T/out")"
run tls --key-type ec:P-256 --pcapng -w "$T/forced.cap" -q
[ $RC = 0 ] && [ "$(head -c 4 "$T/forced.cap" | xxd -p)" = 0a0d0d0a ]
check "--pcapng forces pcapng whatever the name" $? ""

echo "== [$(($(date +%s) - START)) s] several conversations"
run tls --key-type ec:P-256 -n 3 --version 1.2 --resume id --send-client a --send-server b --json -w "$T/res.pcapng"
$PY - "$T/out" <<'EOF' 2>"$T/py.err"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["conversations"]
assert len(c) == 3 and d["ok"] == 3 and d["failed"] == 0, d
assert [x["resumed"] for x in c] == [False, True, True], [x["resumed"] for x in c]
assert all(x["version"] == "TLSv1.2" and x["handshake_ok"] for x in c)
assert len({x["client_port"] for x in c}) == 3
assert c[0]["server_chain"][0]["subject"] == "CN=umpa.test,O=umpa"
assert d["packets"] > 30
EOF
check "-n 3 --resume id --json: valid JSON, the 2nd and 3rd resumed, distinct client ports" $? "$(cat "$T/py.err")"
"${TS[@]}" -r "$T/res.pcapng" -T fields -E 'separator=;' -e tcp.stream -e tls.handshake.type 2>/dev/null >"$T/res.txt"
n=$(cut -d';' -f2 "$T/res.txt" | tr ',' '\n' | grep -c '^11$')
s=$(cut -d';' -f1 "$T/res.txt" | sort -u | wc -l)
[ "$n" = 1 ] && [ "$s" = 3 ] && [ "$(plain "$T/res.pcapng" 2)" = "$(hex a) $(hex b)" ]
check "three TCP streams, one Certificate (the others resumed), the last decrypts" $? "certificates $n, streams $s"
run tls --key-type ec:P-256 -n 4 --interleave --send-client x --send-server y -w "$T/il.pcapng"
"${TS[@]}" -r "$T/il.pcapng" -T fields -e frame.time_delta -e tcp.stream 2>/dev/null >"$T/il.txt"
back=$(cut -f1 "$T/il.txt" | grep -c '^-')
streams=$(cut -f2 "$T/il.txt" | uniq | wc -l)
all=1
for i in 0 3; do [ "$(plain "$T/il.pcapng" $i)" = "$(hex x) $(hex y)" ] || all=0; done
[ $RC = 0 ] && [ "$back" = 0 ] && [ "$streams" -gt 4 ] && [ $all = 1 ] && grep -q '^conversation 4: ok ' "$T/out"
check "--interleave -n 4: packets in time order, streams mixed, each decrypts" $? \
	"time going back $back times, stream changes $streams, all decrypt $all"
run tls --key-type ec:P-256 --early-data 'GET /0rtt\r\n' --send-client after -w "$T/early.pcapng" -v
[ $RC = 0 ] && [ "$(grep -c '^Early data: accepted' "$T/out")" = 1 ] && [ "$(grep -c '^Resumed: yes' "$T/out")" = 1 ] &&
	[ "$(plain "$T/early.pcapng" 1 | cut -d' ' -f1)" = "$(hex "$(printf 'GET /0rtt\r\nafter')")" ]
check "--early-data: the resumed conversation's 0-RTT data is accepted and decrypts before the rest" $? \
	"$(grep -i early "$T/out")"
run tls --key-type ec:P-256 --label 'case 7' --key-update 2 --server-key-update 1 -w "$T/ku.pcapng"
"${TS[@]}" -r "$T/ku.pcapng" -T fields -e frame.comment -e tls.handshake.type 2>/dev/null >"$T/ku.txt"
c=$(cut -f1 "$T/ku.txt" | grep -c '^\[case 7\] ')
nc=$(cut -f1 "$T/ku.txt" | grep -v '^$' | grep -vc '^\[case 7\] ')
k=$(cut -f2 "$T/ku.txt" | tr ',' '\n' | grep -c '^24$')
[ $RC = 0 ] && [ "$c" = 8 ] && [ "$nc" = 0 ] && grep -q '^Key updates: 3$' "$T/out" && [ "$k" = 3 ]
check "--label on every comment; --key-update: 3 KeyUpdates tshark decrypts" $? "labelled $c, not $nc, KeyUpdates $k"

echo "== [$(($(date +%s) - START)) s] external PSK"
K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
run tls --version 1.2 --ciphers PSK-AES256-GCM-SHA384 --psk "$K:alice" --send-client ping --send-server pong \
	--keylog "$T/kpsk12" -w "$T/psk12.pcapng"
[ $RC = 0 ] && grep -q '^PSK: external$' "$T/out" && grep -q '^No server certificate$' "$T/out" &&
	grep -q '^Cipher suite: TLS_PSK_WITH_AES_256_GCM_SHA384$' "$T/out"
check "--psk, TLS 1.2 PSK suite: ok, report says PSK external, no certificate" $? ""
id=$("${TS[@]}" -r "$T/psk12.pcapng" -T fields -e tls.handshake.identity 2>/dev/null | grep -v '^$' | head -n 1)
[ "$(plain "$T/psk12.pcapng" 0)" = "$(hex ping) $(hex pong)" ] && [ "$id" = "$(hex alice)" ]
check "TLS 1.2 PSK: tshark decrypts from the secrets block; the ClientKeyExchange names identity alice" $? \
	"identity '$id'"
editcap --discard-all-secrets "$T/psk12.pcapng" "$T/psk12b.pcapng" >/dev/null 2>&1
[ "$(plain "$T/psk12b.pcapng" 0 -o "tls.keylog_file:$T/kpsk12")" = "$(hex ping) $(hex pong)" ] &&
	[ "$(plain "$T/psk12b.pcapng" 0)" = "- -" ]
check "TLS 1.2 PSK: the key log decrypts it without the secrets block (nothing does without either)" $? ""
run tls --version 1.3 --psk "$K" --send-client ping --send-server pong --json -w "$T/psk13.pcapng"
[ $RC = 0 ] && $PY -c 'import json,sys
r = json.load(open(sys.argv[1]))["conversations"][0]
assert r["psk"] == "external" and not r["resumed"] and r["handshake_ok"] and r["server_chain"] == [] and r["group"], r' \
	"$T/out" 2>"$T/err"
check "--psk, TLS 1.3: JSON report psk external, not resumed, no certificate, (EC)DHE group" $? ""
id=$("${TS[@]}" -r "$T/psk13.pcapng" -T fields -e tls.handshake.extensions.psk.identity.identity 2>/dev/null |
	grep -v '^$' | head -n 1)
[ "$(plain "$T/psk13.pcapng" 0)" = "$(hex ping) $(hex pong)" ] && [ "$id" = "$(hex umpa)" ]
check "TLS 1.3 PSK: tshark decrypts from the secrets block; pre_shared_key names identity umpa" $? "identity '$id'"
run tls --version 1.3 --send-client ping -w "$T/nopsk.pcapng" --json
$PY -c 'import json,sys
r = json.load(open(sys.argv[1]))["conversations"][0]
assert r["psk"] == "none" and r["server_chain"], r' "$T/out" 2>"$T/err"
check "control: without --psk, psk none and a certificate" $? ""
for bad in "xyz" "abc" "00:" "$K$K$K"; do
	rm -f "$T/bad.pcap"
	run tls --psk "$bad" -w "$T/bad.pcap"
	[ $RC = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q '^umpa tls: --psk: ' "$T/err" && [ ! -e "$T/bad.pcap" ] || break
done
check "bad --psk (not hex, odd length, empty identity, 96 bytes): exit 2, one line naming --psk" $? "--psk '$bad'"

echo "== [$(($(date +%s) - START)) s] umpa build: tls{} packets keep their comments and timestamps"
cat >"$T/b.lua" <<'LUA'
return { ether{}/ip{dst="10.9.9.9"}/udp{sport=7777, dport=7777}/"before",
         tls{version="1.3", key_type="ec:P-256", send_client="hi", send_server="yo", time="1600000000.25", seed=3},
         ether{}/ip{dst="10.9.9.9"}/udp{sport=7777, dport=7777}/"after" }
LUA
# tc FILE: "epoch<TAB>comment" per packet
tc() { "${TS[@]}" -r "$1" -T fields -e frame.time_epoch -e frame.comment 2>/dev/null; }
run build --pcapng -f "$T/b.lua" -w "$T/b1.pcapng"
tc "$T/b1.pcapng" >"$T/b1.txt"
n=$(wc -l <"$T/b1.txt")
second=$(sed -n 2p "$T/b1.txt")
last_tls=$(sed -n "$((n - 1))p" "$T/b1.txt" | cut -f1)
after=$(sed -n "${n}p" "$T/b1.txt" | cut -f1)
want_after=$($PY -c 'import sys; from decimal import Decimal as D; print(D(sys.argv[1]) + D("0.000001"))' "$last_tls")
[ $RC = 0 ] && [ "$second" = "$(printf '1600000000.250000000\t')" ] && grep -q "	ClientHello$" "$T/b1.txt" &&
	[ "$(cut -f2 "$T/b1.txt" | grep -c .)" -ge 6 ] && [ "$after" = "$want_after" ] &&
	cut -f1 "$T/b1.txt" | sed -n '2,$p' | sort -c -g
check "no --time: tls{} packets keep their times (from 1600000000.25) and comments; the next packet follows by --interval" \
	$? "second '$second', last tls $last_tls, after $after (want $want_after)"
# the same conversation from umpa tls: the same TCP times
run tls --version 1.3 --key-type ec:P-256 --send-client hi --send-server yo --time 1600000000.25 --seed 3 \
	-w "$T/b0.pcapng" -q
[ "$(tc "$T/b0.pcapng" | cut -f1)" = "$(sed -n "2,$((n - 1))p" "$T/b1.txt" | cut -f1)" ]
check "tls{} packet times in umpa build equal umpa tls's for the same options" $? ""
run build --pcapng -f "$T/b.lua" -w "$T/b2.pcapng" --time 1000 --interval 0.5
tc "$T/b2.pcapng" >"$T/b2.txt"
want=$($PY -c 'import sys
print("\n".join("%d.%09d" % (1000 + i // 2, 500000000 * (i % 2)) for i in range(int(sys.argv[1]))))' "$n")
[ $RC = 0 ] && [ "$(cut -f1 "$T/b2.txt")" = "$want" ] && grep -q "	ClientHello$" "$T/b2.txt"
check "--time given: every packet restamped from it at --interval; tls{} comments kept" $? \
	"$(head -n 3 "$T/b2.txt" | tr '\n\t' '| ')"
run build --pcapng -f "$T/b.lua" -w "$T/b3.pcapng" --comment X -c 2
tc "$T/b3.pcapng" >"$T/b3.txt"
[ $RC = 0 ] && [ "$(wc -l <"$T/b3.txt")" = $((2 * n)) ] && [ "$(cut -f2 "$T/b3.txt" | sort -u)" = X ]
check "--comment replaces every packet's comment, tls{} ones too (-c 2: both rounds)" $? \
	"$(cut -f2 "$T/b3.txt" | sort -u | head -n 3 | tr '\n' '|')"

echo "== [$(($(date +%s) - START)) s] a failing handshake"
run tls --key-type ec:P-256 --version 1.2 --client-ciphers AES128-SHA --server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256 -w "$T/fail.pcapng"
"${TS[@]}" -r "$T/fail.pcapng" -T fields -e tls.alert_message.desc -e tcp.flags.fin 2>/dev/null >"$T/fail.txt"
alerts=$(cut -f1 "$T/fail.txt" | grep -c '^40$')
fins=$(cut -f2 "$T/fail.txt" | grep -c -e '^1$' -e '^True$')
[ $RC = 1 ] && grep -q '^Handshake: FAILED: server: .*no shared cipher' "$T/out" &&
	grep -q '^Alert: sent by server: handshake_failure$' "$T/out" && [ "$alerts" = 1 ] && [ "$fins" = 2 ] &&
	grep -q '1 failed' "$T/out"
check "no shared cipher: exit 1, reason and alert reported, the alert and the FINs written" $? \
	"alerts $alerts, FINs $fins"
run tls --ca "$T/req" -w "$T/v.pcapng" 2>/dev/null
[ $RC = 2 ] && grep -q '^umpa tls: --ca: ' "$T/err"
check "--ca with a file that holds no certificate: exit 2 naming --ca" $? ""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout "$T/o.key" -out "$T/o.pem" \
	-subj /CN=other -days 2 >/dev/null 2>&1
run tls --key-type ec:P-256 --ca "$T/o.pem" -w "$T/v.pcapng"
[ $RC = 0 ] && grep -q '^Verify return code: 21 (unable to verify the first certificate)$' "$T/out"
check "--ca another CA: verification failure reported, not fatal (as s_client)" $? "$(grep Verify "$T/out")"
run tls --key-type ec:P-256 --ca "$T/o.pem" --verify -w "$T/v.pcapng"
[ $RC = 1 ] && grep -q '^Alert: sent by client: unknown_ca$' "$T/out"
check "--verify makes it fatal: unknown_ca alert, exit 1" $? "$(grep -e Alert -e FAILED "$T/out")"
run tls --cert "$T/o.pem" --key "$T/o.key" --sni www.umpa.test --client-cert --client-key-type ed25519 -w "$T/m.pcapng"
[ $RC = 0 ] && grep -q '^Verify return code: 62 (hostname mismatch)$' "$T/out" && grep -q '^ 0 s:CN=other$' "$T/out" &&
	grep -q '^Client certificate chain$' "$T/out" && grep -q 'a:PKEY: ED25519' "$T/out"
check "--cert/--key PEM (hostname mismatch reported), --client-cert generated Ed25519" $? ""

echo "== [$(($(date +%s) - START)) s] bad input: one line naming the option, exit 2, no capture"
# bad NAME OPTION ARGS...
bad() {
	local name=$1 opt=$2
	shift 2
	rm -f "$T/bad.pcap"
	run tls "$@" -w "$T/bad.pcap"
	[ $RC = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "^umpa tls: .*$opt" "$T/err" && [ ! -e "$T/bad.pcap" ]
	check "bad input: $name" $? "$(cat "$T/err")"
}
bad "unknown cipher" "--ciphers: no cipher matches 'FOO'" --ciphers FOO
bad "unknown TLS 1.3 suite" "--ciphersuites" --ciphersuites TLS_FOO
bad "unknown version" "--version: unknown version '1.7'" --version 1.7
bad "min above max" "--min-version" --min-version 1.3 --max-version 1.2
bad "versions that cannot meet" "-version: the client (TLSv1.3..TLSv1.3) and the server (TLSv1.2..TLSv1.2) share no version" \
	--client-version 1.3 --server-version 1.2
bad "missing certificate" "--cert: cannot read certificate" --cert "$T/nope.pem"
bad "unreadable key" "--key: cannot read private key" --cert "$T/o.pem" --key "$T/req"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" >/dev/null 2>&1
bad "key and certificate disagree" "--key: the key in" --cert "$T/o.pem" --key "$T/other.key"
bad "unknown key type" "--key-type: unknown key type 'dsa'" --key-type dsa
bad "unknown group" "--groups" --groups P-999
bad "renegotiation with TLS 1.3" "--renegotiate" --renegotiate 1 --version 1.3
bad "bad resume mode" "--resume: 'sometimes'" --resume sometimes
bad "bad endpoint" "--client: '10.0.0.1:99999'" --client 10.0.0.1:99999
bad "bad segment" "--segment" --segment zero
bad "bad probability" "--loss: '2'" --loss 2
bad "unreadable data file" "--send-client: $T/none" --send-client @"$T/none"
bad "record size" "--max-record: '100' is out of range (bytes per record: 512 to 16384)" --max-record 100
# numbers: the range of the option table, the same as tls{} (tests/unit/test_tls_opts checks Lua)
bad "key update count" "--key-update: '1001' is out of range (KeyUpdates: 0 to 1000)" --key-update 1001
bad "server key update count" "--server-key-update: '5000' is out of range (KeyUpdates: 0 to 1000)" --server-key-update 5000
bad "renegotiations" "--renegotiate: '101' is out of range (renegotiations: 0 to 100)" --renegotiate 101 --version 1.2
bad "RSA size" "--key-type: '16384' is out of range (bits of an RSA key: 512 to 8192)" --key-type rsa:16384
bad "client RSA size" "--client-key-type: '100' is out of range (bits of an RSA key: 512 to 8192)" --client-cert --client-key-type rsa:100
bad "time a capture cannot hold" "--time: '1e12' is out of range (seconds since 1970: 0 to 4000000000)" --time 1e12
bad "time inf" "--time: 'inf' is not a number (seconds since 1970: 0 to 4000000000)" --time inf
bad "time nan" "--time: 'nan' is not a number (seconds since 1970: 0 to 4000000000)" --time nan
bad "negative time" "--time: '-1' is out of range (seconds since 1970: 0 to 4000000000)" --time -1
bad "no conversations" "--count: '0' is out of range (conversations: 1 to 10000000)" -n 0
bad "too many conversations" "--count: '10000001' is out of range (conversations: 1 to 10000000)" --count 10000001
bad "record size too big" "--max-record: '16385' is out of range (bytes per record: 512 to 16384)" --max-record 16385
bad "rtt" "--rtt: '61' is out of range (seconds: 0 to 60)" --rtt 61
bad "seed" "--seed: '18446744073709551616' is out of range (a whole number: 0 to 18446744073709551615)" --seed 18446744073709551616
bad "mss" "--mss: '63' is out of range (bytes: 64 to 65535)" --mss 63
bad "security level" "--security-level: '6' is out of range (OpenSSL security level: 0 to 5)" --security-level 6
bad "loss of every segment" "--loss: '1' is out of range (a probability: 0 to 1, 1 excluded)" --loss 1
# curve and key type names users type
for kt in p256:P-256 prime256v1:P-256 secp384r1:P-384 P-384:P-384 p521:P-521 ec:p384:P-384 EC:SECP521R1:P-521; do
	run tls --key-type "${kt%:*}" --version 1.3 -w "$T/kt.pcap"
	grep -q "a:PKEY: EC ${kt##*:}, " "$T/out" || break
done
check "--key-type curve aliases (p256, prime256v1, secp384r1, P-384, p521, ec:p384, EC:SECP521R1)" $? "${kt%:*}: $(grep PKEY "$T/out" | head -n 1)"
run tls --key-type rsa:3072 --version 1.2 -w "$T/kt.pcap"
[ $RC = 0 ] && grep -q "a:PKEY: RSA, 3072 (bit)" "$T/out"
check "--key-type rsa:3072: a 3072-bit RSA server key" $? "$(grep PKEY "$T/out" | head -n 1)"
run tls --help
n=$(grep -c -- '^ *\(-., \)\?--[a-z]' "$T/out")
[ $RC = 0 ] && [ "$n" -ge 55 ] && grep -q -- '--server-key-update N' "$T/out" && grep -q -- '--key-update N .*0..1000' "$T/out"
check "--help lists the table's options with their ranges ($n lines)" $? ""
run tls --version 1.3
[ $RC = 2 ] && grep -q -- '-w FILE' "$T/err"
check "no -w: usage error" $? ""

echo "tls_cli: $(($(date +%s) - START)) s, $PASS passed, $FAIL failed"
[ $FAIL = 0 ]
