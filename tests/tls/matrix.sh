#!/usr/bin/env bash
# matrix.sh - umpa tls against tshark: a covering selection of versions x cipher
# suites x key types x resumption modes x TCP segmentation (hostile modes too),
# plus the sweep, bad input and a failing handshake.
#
# Every value of every dimension appears at least once (a covering, not the
# full product, to stay within about a minute):
#   versions     1.3, 1.2, 1.1 and 1.0 (these two at --security-level 0, which
#                OpenSSL 3 needs for their MD5+SHA1 signatures)
#   suites       TLS 1.3: the five RFC 8446 suites OpenSSL offers; TLS 1.2:
#                ECDHE-RSA/ECDSA with AES-GCM, ChaCha20-Poly1305, AES-CBC-SHA384,
#                static RSA (AES128-SHA256); TLS 1.0/1.1: ECDHE and RSA with AES-CBC-SHA
#   keys         rsa (2048), ec:P-256, ec:P-384, ed25519
#   resumption   none, id (TLS <= 1.2), ticket, psk (TLS 1.3), and 0-RTT early
#                data with KeyUpdates both ways (TLS 1.3)
#   segmentation normal (MSS), 1 (byte by byte), random, reorder, dup, loss
# For each case, with random application data (sizes differ per case, up to
# 40 KB so records span segments and records):
#   (a) the capture, stripped of its secrets (editcap --discard-all-secrets), is
#       decrypted by tshark with -o tls.keylog_file: and the --keylog file;
#   (b) the pcapng as written is decrypted by tshark with no key option, from
#       its own Decryption Secrets Block;
#   both give back, byte for byte and per direction, what each side sent;
#   no expert info of severity error (malformed packets included);
#   the TCP analysis shows no retransmission, out-of-order, duplicate ACK,
#   lost or unseen segment unless the case asked for it; reorder shows
#   tcp.analysis.out_of_order (and, before each late segment, the gap it
#   leaves: "previous segment not captured", at most once per swap), dup and
#   loss show tcp.analysis.retransmission and never a segment not captured,
#   and the stream still decrypts (tcp.reassemble_out_of_order on);
#   a resumed second conversation has a ClientHello and no Certificate.
# Control: the stripped captures without the key log decrypt nothing, so (b)
# cannot pass without the secrets blocks.  The cases' captures are checked
# together (concatenated: a pcapng holds several sections), each case on its
# own client ports, so tshark starts three times rather than three times per case.
#
# Prints "ok: ..." / "FAILED: ..." per check and "N passed, N failed" at the end.
# Environment: UMPA (default $top_builddir/umpa).  Skips (77) without tshark.
set -uo pipefail

top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
if [ ! -x "$UMPA" ]; then
	echo "matrix: FAILED: no umpa binary at $UMPA"
	exit 1
fi
for tool in tshark editcap xxd; do
	command -v $tool >/dev/null 2>&1 || { echo "matrix: $tool missing: skipped"; exit 77; }
done

. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir matrix) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0
FAIL=0
START=$(date +%s)

ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
failed() { FAIL=$((FAIL + 1)); echo "FAILED: $1: $2"; }
check() { # NAME CONDITION-TEXT WHAT-WAS-SEEN: CONDITION is evaluated by the caller (0/1)
	if [ "$2" = 0 ]; then ok "$1"; else failed "$1" "$3"; fi
}

# tshark with the settings every read uses: quiet, TCP reassembly of
# out-of-order segments (hostile modes), decrypted data left as raw data
TS=(timeout -k 5 60 tshark -n -o tcp.reassemble_out_of_order:TRUE -o tcp.desegment_tcp_streams:TRUE
	--disable-protocol http)

# fields FILE OUT [tshark options]: one line per packet: src|src6|data (hex)|handshake types|expert
# messages|severities|malformed|sport|dport
fields() {
	local f=$1 out=$2
	shift 2
	"${TS[@]}" -r "$f" "$@" -T fields -E separator='|' -e ip.src -e ipv6.src -e data.data \
		-e tls.handshake.type -e _ws.expert.message -e _ws.expert.severity -e _ws.malformed \
		-e tcp.srcport -e tcp.dstport >"$out" 2>"$out.err"
}
# of_case FIELDS PORT: the lines of the case whose client ports are PORT..PORT+15
of_case() { awk -F'|' -v p="$2" '($8 >= p && $8 < p + 16) || ($9 >= p && $9 < p + 16)' "$1"; }
# decrypted FIELDS SRC: the hex of the data SRC sent, in frame order
decrypted() { awk -F'|' -v s="$2" '($1 == s || $2 == s) && $3 != "" { gsub(",", "", $3); printf "%s", $3 }' "$1"; }
# count_hs FIELDS TYPE: handshake messages of TYPE
count_hs() { awk -F'|' -v t="$2" '{ n += gsub("(^|,)" t "(,|$)", "&", $4) } END { print n + 0 }' "$1"; }
# count_expert FIELDS TEXT: packets whose expert messages contain TEXT
count_expert() { grep -c -F -- "$2" "$1" | tr -d '\n'; }
# errors FIELDS: packets with an expert item of severity error (8388608) or a malformed mark
errors() { awk -F'|' '{ n = split($6, s, ","); for (i = 1; i <= n; i++) if (s[i] + 0 >= 8388608) { e++; break } } $7 != "" { m++ } END { print e + m + 0 }' "$1"; }

# The TCP analysis messages tshark 4 prints, by what asks for them.
MSG_OOO="out-of-order"
MSG_RETR="retransmission"
MSG_DUPACK="Duplicate ACK"
MSG_LOST="Previous segment(s) not captured"
MSG_UNSEEN="ACKed segment that wasn't captured"

# run_case NAME VERSION SUITE KEY RESUME SEG CLIENT-BYTES SERVER-BYTES [extra umpa tls options]
# writes the case's capture; check_cases judges them all from three tshark passes (tshark's
# start-up is most of the cost of a small capture): the captures are concatenated (a pcapng
# may hold several sections, each with its secrets blocks), each case on its own client ports.
ncase=0
CASES=()
run_case() {
	local name=$1 ver=$2 suite=$3 key=$4 resume=$5 seg=$6 csize=$7 ssize=$8
	shift 8
	local d="$T/$name" nconv=1 rc port
	mkdir -p "$d"
	ncase=$((ncase + 1))
	port=$((20000 + 16 * ncase))
	head -c "$csize" /dev/urandom >"$d/c.bin"
	head -c "$ssize" /dev/urandom >"$d/s.bin"
	local cli=10.0.0.1 srv=10.0.0.2 client="10.0.0.1:$port"
	case " $* " in *" --ipv6 "*) cli=fd00::1 srv=fd00::2 client="[fd00::1]:$port" ;; esac
	local args=(tls --version "$ver" --key-type "$key" --send-client @"$d/c.bin" --send-server @"$d/s.bin"
		--seed "$ncase" --client "$client" --keylog "$d/keys.log" -w "$d/f.pcapng")
	case $suite in
	TLS_*) args+=(--ciphersuites "$suite") ;;
	*) args+=(--ciphers "$suite") ;;
	esac
	case $ver in 1.0 | 1.1) args+=(--security-level 0) ;; esac
	[ "$resume" != none ] && { args+=(--resume "$resume"); nconv=2; }
	case $seg in
	normal) ;;
	1 | random) args+=(--segment "$seg") ;;
	reorder | dup | loss) args+=(--"$seg" 0.3) ;;
	esac
	args+=("$@")
	local tag="$name [$ver $suite $key resume=$resume seg=$seg]"
	timeout -k 5 60 "$UMPA" "${args[@]}" >"$d/out" 2>"$d/err"
	rc=$?
	if [ $rc != 0 ] || [ ! -s "$d/f.pcapng" ]; then
		failed "$tag: umpa tls" "exit $rc: $(head -c 400 "$d/err" | tr '\n' '|') (umpa ${args[*]})"
		return
	fi
	# what was sent, as tshark prints it: the data of every conversation, in order
	# (with --early-data, conversation 2 resumes and sends its 0-RTT data first)
	local early="" a
	for a in "$@"; do [ "${prev:-}" = --early-data ] && early=$a; local prev=$a; done
	[ -n "$early" ] && nconv=2
	for ((i = 0; i < nconv; i++)); do
		[ $i = 1 ] && [ -n "$early" ] && printf '%s' "$early" | xxd -p
		xxd -p "$d/c.bin"
	done | tr -d '\n' >"$d/want_c"
	for ((i = 0; i < nconv; i++)); do xxd -p "$d/s.bin"; done | tr -d '\n' >"$d/want_s"
	editcap --discard-all-secrets "$d/f.pcapng" "$d/nosecrets.pcapng" >/dev/null 2>&1
	CASES+=("$name|$tag|$port|$nconv|$seg|$cli|$srv")
}

check_cases() {
	local c name tag port nconv seg cli srv d
	for c in "${CASES[@]}"; do cat "$T/${c%%|*}/f.pcapng"; done >"$T/all.pcapng"
	for c in "${CASES[@]}"; do cat "$T/${c%%|*}/nosecrets.pcapng"; done >"$T/all-nosecrets.pcapng"
	for c in "${CASES[@]}"; do cat "$T/${c%%|*}/keys.log"; done >"$T/all.keys"
	fields "$T/all.pcapng" "$T/b.txt"                                            # (b) secrets blocks
	fields "$T/all-nosecrets.pcapng" "$T/a.txt" -o "tls.keylog_file:$T/all.keys" # (a) key log
	fields "$T/all-nosecrets.pcapng" "$T/none.txt"                               # control
	[ -s "$T/b.txt" ] && [ -z "$(awk -F'|' '$3 != ""' "$T/none.txt")" ]
	check "control: without secrets block or key log no case decrypts" $? \
		"$(head -c 200 "$T/b.txt.err") $(awk -F'|' '$3 != ""' "$T/none.txt" | wc -l) packets decrypted anyway"
	for c in "${CASES[@]}"; do
		IFS='|' read -r name tag port nconv seg cli srv <<<"$c"
		d="$T/$name"
		of_case "$T/b.txt" "$port" >"$d/b.txt"
		of_case "$T/a.txt" "$port" >"$d/a.txt"
		local want_c want_s got_c got_s
		want_c=$(cat "$d/want_c")
		want_s=$(cat "$d/want_s")
		got_c=$(decrypted "$d/b.txt" "$cli")
		got_s=$(decrypted "$d/b.txt" "$srv")
		[ -n "$want_c" ] && [ "$got_c" = "$want_c" ] && [ "$got_s" = "$want_s" ]
		check "$tag: decrypted from the pcapng secrets block, both directions byte for byte" $? \
			"client sent ${#want_c} hex digits, tshark gave ${#got_c}; server ${#want_s} vs ${#got_s}"
		got_c=$(decrypted "$d/a.txt" "$cli")
		got_s=$(decrypted "$d/a.txt" "$srv")
		[ "$got_c" = "$want_c" ] && [ "$got_s" = "$want_s" ]
		check "$tag: decrypted with -o tls.keylog_file (no secrets block), both directions byte for byte" $? \
			"client ${#want_c} vs ${#got_c}, server ${#want_s} vs ${#got_s}"
		local n
		n=$(errors "$d/b.txt")
		check "$tag: no malformed packet, no expert error" "$([ "$n" = 0 ] && echo 0 || echo 1)" \
			"$n packets: $(awk -F'|' '$7 != "" || $6 ~ /8388608/ { print $5 }' "$d/b.txt" | sort | uniq -c | head -n 3 | tr '\n' ';')"
		local ooo retr dupack lost unseen
		ooo=$(count_expert "$d/b.txt" "$MSG_OOO")
		retr=$(count_expert "$d/b.txt" "$MSG_RETR")
		dupack=$(count_expert "$d/b.txt" "$MSG_DUPACK")
		lost=$(count_expert "$d/b.txt" "$MSG_LOST")
		unseen=$(count_expert "$d/b.txt" "$MSG_UNSEEN")
		local seen="out-of-order $ooo, retransmission $retr, dup ACK $dupack, not captured $lost, unseen ACKed $unseen"
		case $seg in
		normal | 1 | random)
			[ "$ooo$retr$dupack$lost$unseen" = 00000 ]
			check "$tag: no TCP analysis flag that was not asked for" $? "$seen" ;;
		reorder)
			# the late segment leaves a gap first: tshark says "not captured" there, once per swap
			[ "$ooo" -gt 0 ] && [ "$lost" -le "$ooo" ] && [ "$retr$unseen" = 00 ]
			check "$tag: reorder: tshark sees out-of-order segments (a gap per swap), no retransmission" $? "$seen" ;;
		dup)
			[ "$retr" -gt 0 ] && [ "$ooo$lost$unseen" = 000 ]
			check "$tag: dup: tshark sees the copies as retransmissions, nothing lost or out of order" $? "$seen" ;;
		loss)
			[ "$retr" -gt 0 ] && [ "$lost$unseen" = 00 ]
			check "$tag: loss: tshark sees retransmissions, never a segment not captured" $? "$seen" ;;
		esac
		if [ "$nconv" = 2 ]; then
			local ch cert
			ch=$(count_hs "$d/b.txt" 1)
			cert=$(count_hs "$d/b.txt" 11)
			[ "$ch" = 2 ] && [ "$cert" = 1 ]
			check "$tag: resumed: two ClientHellos, one Certificate" $? "ClientHello $ch, Certificate $cert"
		fi
	done
}

echo "== cases ($(openssl version 2>/dev/null), $(tshark -v 2>/dev/null | head -n 1))"
#        name    version suite                           key       resume  seg     client server
run_case t13a    1.3 TLS_AES_128_GCM_SHA256          rsa       none    normal  3000 40000
run_case t13b    1.3 TLS_AES_256_GCM_SHA384          ec:P-256  ticket  1       200  300
run_case t13c    1.3 TLS_CHACHA20_POLY1305_SHA256    ed25519   psk     random  5000 9000
run_case t13d    1.3 TLS_AES_128_CCM_SHA256          ec:P-384  none    reorder 20000 30000
run_case t13e    1.3 TLS_AES_128_CCM_8_SHA256        rsa       ticket  dup     8000 20000
run_case t13f    1.3 TLS_AES_256_GCM_SHA384          ed25519   none    loss    20000 30000
run_case t13g    1.3 TLS_AES_128_GCM_SHA256          ec:P-256  psk     normal  1000 1000 --ipv6
run_case t13h    1.3 TLS_AES_256_GCM_SHA384          ec:P-256  none    normal  3000 5000 \
	--early-data EARLYDATA --key-update 2 --server-key-update 1
run_case t12a    1.2 ECDHE-RSA-AES128-GCM-SHA256     rsa       id      normal  4000 17000
run_case t12b    1.2 ECDHE-ECDSA-AES256-GCM-SHA384   ec:P-256  ticket  random  6000 6000
run_case t12c    1.2 ECDHE-ECDSA-CHACHA20-POLY1305   ec:P-384  none    1       100  250
run_case t12d    1.2 AES128-SHA256                   rsa       ticket  reorder 20000 30000
run_case t12e    1.2 ECDHE-ECDSA-AES128-GCM-SHA256   ed25519   id      dup     9000 9000
run_case t12f    1.2 ECDHE-RSA-AES256-SHA384         rsa       none    loss    20000 30000
run_case t11a    1.1 ECDHE-RSA-AES128-SHA            rsa       id      normal  2000 5000
run_case t11b    1.1 ECDHE-ECDSA-AES256-SHA          ec:P-256  none    loss    15000 15000
run_case t10a    1.0 AES256-SHA                      rsa       ticket  random  3000 3000
run_case t10b    1.0 ECDHE-ECDSA-AES128-SHA          ec:P-384  none    dup     7000 7000
echo "   ($ncase captures made, $(($(date +%s) - START)) s)"
check_cases
echo "   ($ncase cases checked, $(($(date +%s) - START)) s)"

echo "== sweep"
if timeout -k 5 90 "$UMPA" tls --sweep -w "$T/sweep.pcapng" --keylog "$T/sweep.keys" >"$T/sweep.out" 2>"$T/sweep.err"; then
	nok=$(grep -c '^ok ' "$T/sweep.out")
	summary=$(tail -n 1 "$T/sweep.out")
	# every suite reported ok is in the capture, labelled: its client data is "VERSION SUITE"
	fields "$T/sweep.pcapng" "$T/sweep.txt"
	awk -F'|' '$1 == "10.0.0.1" && $3 != "" { gsub(",", "", $3); print $3 }' "$T/sweep.txt" |
		while read -r h; do echo "$h" | xxd -r -p; echo; done | sort -u >"$T/sweep.labels"
	grep '^ok ' "$T/sweep.out" | awk '{ print $2 " " $3 }' | sort -u >"$T/sweep.want"
	# tshark 4.0 cannot decrypt ARIA suites: those are expected to be missing
	missing=$(comm -23 "$T/sweep.want" "$T/sweep.labels" | grep -v ARIA)
	[ "$nok" -ge 20 ] && [ -z "$missing" ] && grep -q "^sweep: $nok ok, " <<<"$summary"
	check "sweep: $nok suites ok, each decrypts from the secrets block with its label" $? \
		"summary '$summary'; not decrypted: $(echo "$missing" | head -n 5 | tr '\n' ';')"
	grep -q 'TLSv1 ' "$T/sweep.out" && grep -q 'TLSv1.1 ' "$T/sweep.out" && grep -q 'TLSv1.3 ' "$T/sweep.out"
	check "sweep: TLS 1.0, 1.1 and 1.3 are in it (security level 0)" $? "$(cut -c1-60 "$T/sweep.out" | head -n 3)"
	nfail=$(grep -c '^FAIL ' "$T/sweep.out")
	nbad=$(grep '^FAIL ' "$T/sweep.out" | grep -vc -e 'error:' -e 'alert')
	[ "$nbad" = 0 ]
	check "sweep: each of the $nfail failed combinations has OpenSSL's reason" $? \
		"$(grep '^FAIL ' "$T/sweep.out" | grep -v -e 'error:' -e 'alert' | head -n 2)"
	n=$(errors "$T/sweep.txt")
	check "sweep: no malformed packet, no expert error" "$([ "$n" = 0 ] && echo 0 || echo 1)" "$n packets"
	# every suite OpenSSL lists for a version is in the report: ok, failed or not tried
	# (oracle: the openssl command, TLS <= 1.2 suites whose minimum version is at most the swept one;
	# TLS 1.3: the RFC 8446 suites `openssl ciphers -ciphersuites` accepts)
	all13=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256
	openssl ciphers -v -ciphersuites "$all13" 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' >"$T/ossl.txt" 2>&1
	cnt=""
	for v in TLSv1:SSLv3,TLSv1 TLSv1.1:SSLv3,TLSv1,TLSv1.1 TLSv1.2:SSLv3,TLSv1,TLSv1.1,TLSv1.2 TLSv1.3:TLSv1.3; do
		want=$(awk -v m="${v#*:}" 'BEGIN { n = split(m, a, ","); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
			ok[$2] { c++ } END { print c + 0 }' "$T/ossl.txt")
		got=$(awk -v v="${v%%:*}" '($1 == "ok" || $1 == "FAIL" || $1 == "skip") && $2 == v { c++ } END { print c + 0 }' \
			"$T/sweep.out")
		cnt="$cnt ${v%%:*} $got/$want"
		[ "$got" = "$want" ] || cnt="$cnt(MISMATCH)"
	done
	nskip=$(grep -c '^skip ' "$T/sweep.out")
	npsk=$(grep '^ok ' "$T/sweep.out" | grep -c -- 'PSK-')
	! grep -q MISMATCH <<<"$cnt" && [ "$(grep -c '^skip .*SRP-.*not tried: SRP is deprecated' "$T/sweep.out")" = "$nskip" ] &&
		[ "$npsk" -ge 60 ] && grep -q "^sweep: $nok ok, $nfail failed, $nskip not tried, " <<<"$summary"
	check "sweep: ok + failed + not tried == openssl ciphers per version:$cnt; $npsk PSK ok, $nskip SRP not tried" $? \
		"summary '$summary'"
	timeout -k 5 90 "$UMPA" tls --sweep --json --version 1.3 -w "$T/sweep13.pcap" >"$T/sweep.json" 2>&1
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] == len([c for c in d["conversations"] if c["ok"]]) >= 3, d["ok"]; assert all(c["version"] == "TLSv1.3" for c in d["conversations"])' "$T/sweep.json" 2>"$T/json.err"
	check "sweep --json --version 1.3: valid JSON, only TLS 1.3, counts agree" $? "$(head -c 300 "$T/json.err")"
else
	failed "sweep" "exit $?: $(head -c 300 "$T/sweep.err")"
fi

echo "== bad input"
# bad NAME OPTION-NAMED ARGS...: a one-line error naming the option, exit 2 (usage) or 1, no capture left
bad() {
	local name=$1 opt=$2 rc
	shift 2
	rm -f "$T/bad.pcap"
	timeout -k 5 60 "$UMPA" tls "$@" -w "$T/bad.pcap" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	[ $rc -ge 1 ] && [ $rc -le 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q "^umpa tls: .*$opt" "$T/bad.err"
	check "bad input: $name: one line naming $opt" $? "exit $rc, stderr: $(head -c 300 "$T/bad.err" | tr '\n' '|')"
}
printf 'not a certificate\n' >"$T/junk.pem"
bad "unknown cipher" --ciphers --version 1.2 --ciphers NO-SUCH-CIPHER
bad "unknown TLS 1.3 suite" --ciphersuites --ciphersuites TLS_NO_SUCH_SUITE
bad "unknown version" --version --version 1.7
bad "impossible versions" --min-version --min-version 1.3 --max-version 1.2
bad "missing certificate file" --cert --cert "$T/does-not-exist.pem" --key "$T/junk.pem"
bad "unreadable certificate" --cert --cert "$T/junk.pem" --key "$T/junk.pem"
bad "unknown key type" --key-type --key-type rsa:banana

echo "== failing handshake"
# the server has an RSA key, the only suite needs ECDSA: no shared cipher
timeout -k 5 60 "$UMPA" tls --version 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 --key-type rsa \
	--send-client hello -w "$T/fail.pcapng" >"$T/fail.out" 2>"$T/fail.err"
rc=$?
[ $rc -lt 128 ] && [ -s "$T/fail.pcapng" ]
check "failing handshake: no crash, capture written" $? "exit $rc"
fields "$T/fail.pcapng" "$T/fail.txt"
alert=$("${TS[@]}" -r "$T/fail.pcapng" -Y 'tls.alert_message' 2>/dev/null | wc -l)
ch=$(count_hs "$T/fail.txt" 1)
[ "$alert" -ge 1 ] && [ "$ch" = 1 ]
check "failing handshake: the capture holds the ClientHello and the alert" $? "alerts $alert, ClientHello $ch"
grep -qi -e 'no shared cipher' -e 'handshake_failure' "$T/fail.out" "$T/fail.err"
check "failing handshake: reported with OpenSSL's reason" $? \
	"stdout: $(head -c 300 "$T/fail.out" | tr '\n' '|') stderr: $(head -c 200 "$T/fail.err")"

echo "== Lua tls{} into a template's capture"
cat >"$T/t.lua" <<'EOF'
local c = tls{version="1.3", sni="a.test", send_client="GET /", send_server="200 OK", key_type="ec:P-256"}
assert(c.report.ok, c.report.error)
return { ether{}/ip{dst="10.9.9.9"}/udp{sport=7777, dport=7777}/"before", c,
         tls{version="1.2", ciphers="ECDHE-RSA-AES256-GCM-SHA384", send_client="second", send_server="reply",
             client="10.0.0.5:5555", segment="random", seed=9} }
EOF
if timeout -k 5 60 "$UMPA" build --pcapng -f "$T/t.lua" -w "$T/lua.pcapng" >"$T/lua.out" 2>"$T/lua.err"; then
	fields "$T/lua.pcapng" "$T/lua.txt"
	got=$(for s in 10.0.0.1 10.0.0.2 10.0.0.5; do decrypted "$T/lua.txt" $s | xxd -r -p; echo; done | tr '\n' '|')
	want="GET /|200 OKreply|second|"
	[ "$got" = "$want" ] && [ "$(errors "$T/lua.txt")" = 0 ] &&
		[ "$("${TS[@]}" -r "$T/lua.pcapng" -Y 'ip.dst == 10.9.9.9 && udp' 2>/dev/null | wc -l)" = 1 ]
	check "lua: umpa build -f with two tls{} and a UDP packet: one capture, both conversations decrypt from it" $? \
		"got '$got', want '$want'"
else
	failed "lua: umpa build -f" "$(head -c 300 "$T/lua.err")"
fi

echo "matrix: $(($(date +%s) - START)) s"
echo "$PASS passed, $FAIL failed"
[ $FAIL = 0 ]
