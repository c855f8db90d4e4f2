#!/usr/bin/env bash
# numbers.sh - every number the command line takes is checked before it is used,
# timestamps are never wrapped, and text umpa did not write reaches the terminal
# escaped.  The reproducers of issue 9 (cli-ubsan-float-cast-overflow,
# cli-wrong-timestamp-wrap, cli-leak-tls-data-arg, lua-error-terminal-escapes)
# are cases here; under the sanitizer build any UBSan or LeakSanitizer report
# fails the case that caused it.
#
# Each check prints "ok: ..." or "FAILED: ..."; the last line counts them; exit 1
# when any failed.  Nothing here opens an interface: send, sr and sniff get a
# name that does not exist, and every bad option is refused before it is used.
# Environment: UMPA (the umpa binary; default $top_builddir/umpa), top_builddir,
# top_srcdir and UMPA_CORPUS (default $top_srcdir/../shared/corpus/tcpdump-tests).
set -uo pipefail

top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
if [ ! -x "$UMPA" ]; then
	echo "numbers: FAILED: no umpa binary at $UMPA"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/umpa-numbers.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0
SKIP=0
RC=0
NOIF=umpa-none0 # no such interface: nothing is ever sent or captured

ok() { PASS=$((PASS + 1)); [ -n "${QUIET_OK:-}" ] || echo "ok: $1"; }
failed() { # NAME WHAT
	FAIL=$((FAIL + 1))
	echo "FAILED: $1: $2"
	echo "    command: umpa ${LAST_ARGS[*]:-}"
	echo "    exit $RC; stdout: $(head -c 300 "$T/out" | od -An -c | tr -s ' \n' ' ')"
	echo "    stderr: $(head -c 400 "$T/err" | od -An -c | tr -s ' \n' ' ')"
}
skipped() {
	echo "skipped: $1 ($2)"
	if [ "${CI:-}" = true ]; then FAIL=$((FAIL + 1)); else SKIP=$((SKIP + 1)); fi
}

# run ARGS...: run umpa, stdout in $T/out, stderr in $T/err, status in $RC
run() {
	LAST_ARGS=("$@")
	timeout -k 5 60 "$UMPA" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# has_raw FILE: does FILE hold a raw ESC, CR, BEL, NUL or C1 CSI byte?  (od -c names them)
has_raw() {
	od -An -c "$1" | grep -qE '033|\\r|\\a|\\0|233'
}

# usage_err NAME OPT: the last run was refused as a usage error: exit 2, exactly one
# line "umpa: OPT: ..." (or "umpa COMMAND: OPT: ...") naming the range, no sanitizer report, no raw control byte
usage_err() {
	local name=$1 opt=$2 n
	n=$(wc -l <"$T/err")
	if [ "$RC" -ge 124 ]; then
		failed "$name" "killed or crashed (exit $RC)"
	elif grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/err"; then
		failed "$name" "sanitizer report"
	elif [ "$RC" -ne 2 ]; then
		failed "$name" "exit $RC, wanted 2"
	elif [ "$n" -ne 1 ]; then
		failed "$name" "stderr has $n lines, wanted one"
	elif ! head -n 1 "$T/err" | grep -qE -- "^umpa( [a-z]+)?: $opt: '"; then
		failed "$name" "the line does not start 'umpa: $opt: '"
	elif ! grep -qE "is (not a (whole )?number|out of range) \(.+: .*[0-9]+ to [0-9]+\)$" "$T/err"; then
		failed "$name" "the line does not give the range"
	elif has_raw "$T/err"; then
		failed "$name" "raw control bytes on stderr"
	else
		ok "$name"
	fi
}

# work_err NAME RC TEXT: the last run failed with exit RC and one line containing TEXT
work_err() {
	local name=$1 want=$2 text=$3 n
	n=$(wc -l <"$T/err")
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/err"; then
		failed "$name" "sanitizer report"
	elif [ "$RC" -ne "$want" ]; then
		failed "$name" "exit $RC, wanted $want"
	elif [ "$n" -ne 1 ] || ! grep -qF -- "$text" "$T/err"; then
		failed "$name" "stderr is not one line with '$text'"
	elif has_raw "$T/err"; then
		failed "$name" "raw control bytes on stderr"
	else
		ok "$name"
	fi
}

# same NAME GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		FAIL=$((FAIL + 1))
		echo "FAILED: $1"
		echo "    got:    $(printf '%s' "$2" | tr '\n' '|' | head -c 400)"
		echo "    wanted: $(printf '%s' "$3" | tr '\n' '|' | head -c 400)"
	fi
}

# ---- every time, rate, count and size option of every command, fed what it cannot hold ----
#
# Each row: a command line with @ where the value goes, the option's name, and the
# values of the standard list that the option does accept (so they are not fed).
BADVALS=(inf nan -1 1e300 5e9 1e12 12x "")
PKT='ether{dst="02:00:00:00:00:02"}/ip{}/udp{}'
W="$T/t.pcap"
TABLE=$(
	cat <<EOF
--time|build $PKT -w $W --time @|
--interval|build $PKT -w $W --interval @|
-c|build $PKT -w $W -c @|
--max|build $PKT -w $W --max @|
-c|show -c @ $T/none.pcap|
-c|send $PKT -i $NOIF -c @|
--interval|send $PKT -i $NOIF --interval @|
--rate|send $PKT -i $NOIF --rate @|
--bps|send $PKT -i $NOIF --bps @|5e9 1e12
--jitter|send $PKT -i $NOIF --jitter @|
--seed|send $PKT -i $NOIF --seed @|
--max|send $PKT -i $NOIF --max @|
--inc|send $PKT -i $NOIF --inc ip.id:@|
-c|sniff -i $NOIF -c @|
--snaplen|sniff -i $NOIF --snaplen @|
--buffer-size|sniff -i $NOIF --buffer-size @|
--timeout|sniff -i $NOIF --timeout @|
--keylog-wait|sniff -i $NOIF --keylog $T/none.log --keylog-wait @|
--timeout|sr $PKT -i $NOIF --timeout @|
--retry|sr $PKT -i $NOIF --retry @|
--rate|sr $PKT -i $NOIF --rate @|
--max|sr $PKT -i $NOIF --max @|
--count|tls -q -w $W -n @|
--security-level|tls -q -w $W --security-level @|
--key-update|tls -q -w $W --key-update @|
--server-key-update|tls -q -w $W --server-key-update @|
--renegotiate|tls -q -w $W --renegotiate @|
--server-renegotiate|tls -q -w $W --server-renegotiate @|
--max-record|tls -q -w $W --max-record @|
--mss|tls -q -w $W --mss @|
--segment|tls -q -w $W --segment @|
--reorder|tls -q -w $W --reorder @|
--dup|tls -q -w $W --dup @|
--loss|tls -q -w $W --loss @|
--seed|tls -q -w $W --seed @|
--rtt|tls -q -w $W --rtt @|
--time|tls -q -w $W --time @|
--time|tls -q -w $T/t.pcapng --time @|
--multiplier|replay $T/none.pcap -i $NOIF --multiplier @|
--pps|replay $T/none.pcap -i $NOIF --pps @|
--mbps|replay $T/none.pcap -i $NOIF --mbps @|
--loop|replay $T/none.pcap -i $NOIF --loop @|5e9 1e12
--duration|replay $T/none.pcap -i $NOIF --duration @|
--timeout|replay $T/none.pcap -i $NOIF --timeout @|
--learn-noise|replay $T/none.pcap -i $NOIF --learn-noise @|
--retries|replay $T/none.pcap -i $NOIF --retries @|
--vlan|replay $T/none.pcap -i $NOIF --vlan @|
--ttl|replay $T/none.pcap -i $NOIF --ttl @|
EOF
)
ncase=0
nrow=0
while IFS='|' read -r opt cmdline accepted; do
	[ -n "$opt" ] || continue
	nrow=$((nrow + 1))
	read -r -a words <<<"$cmdline"
	for v in "${BADVALS[@]}"; do
		if [ -n "$v" ] && [ -n "$accepted" ]; then
			case " $accepted " in *" $v "*) continue ;; esac
		fi
		args=()
		for w in "${words[@]}"; do
			case $w in
			@) args+=("$v") ;;
			*@) args+=("${w%@}$v") ;;
			*) args+=("$w") ;;
			esac
		done
		run "${args[@]}"
		if [ "$opt" = --inc ]; then
			usage_err "${words[0]} $opt ip.id:'$v'" "$opt"
		else
			usage_err "${words[0]} $opt '$v'" "$opt"
		fi
		ncase=$((ncase + 1))
	done
done <<<"$TABLE"
echo "($ncase bad values over $nrow options)"

# ... and the edges they do accept, for the options whose range is not obvious
run build "$PKT" -w "$W" --time 4294967295 --interval 0
[ "$RC" = 0 ] && ok "build --time 4294967295 (pcap's last second) is accepted" ||
	failed "build --time 4294967295" "refused"
run build "$PKT" -w "$T/t.pcapng" --pcapng --time 18446744072
[ "$RC" = 0 ] && ok "build --pcapng --time 18446744072 is accepted" || failed "build --pcapng --time" "refused"
run build "$PKT" -w "$W" --time 4294967295.000000001
usage_err "build --time one ns past pcap" --time
run build "$PKT" -w "$T/t.pcapng" --pcapng --time 18446744073
usage_err "build --pcapng --time past 2554" --time
run sr "$PKT" -i "$NOIF" --timeout 0
usage_err "sr --timeout 0 (must wait for something)" --timeout
run send "$PKT" -i "$NOIF" --interval 0.0000000001
usage_err "send --interval below a nanosecond" --interval
run tls -q -w "$W" --rtt 60.000000001
usage_err "tls --rtt past 60 s" --rtt

# ---- reproducer: cli-ubsan-float-cast-overflow (each used to overflow a conversion) ----
run build 'ether{}' -w /dev/null --time 1e300
usage_err "repro: build --time 1e300" --time
run build 'ether{}' -w /dev/null --interval 1e300
usage_err "repro: build --interval 1e300" --interval
run tls -w /dev/null -q --time 1e12
usage_err "repro: tls --time 1e12" --time
run send "$PKT" -i "$NOIF" -c 2 --interval 1e300
usage_err "repro: send --interval 1e300" --interval
run send "$PKT" -i "$NOIF" -c 2 --rate 1e-300
usage_err "repro: send --rate 1e-300" --rate
run sr "$PKT" -i "$NOIF" --timeout inf
usage_err "repro: sr --timeout inf" --timeout
run sniff -i "$NOIF" -c 1 --timeout 1e18
usage_err "repro: sniff --timeout 1e18" --timeout

# ---- reproducer: cli-wrong-timestamp-wrap (pcap read back 1992, pcapng 3875820019) ----
run build 'ether{}' --time 5000000000 -w "$T/w.pcap"
usage_err "repro: build --time 5000000000 into pcap" --time
run build 'ether{}' --time 1e12 --pcapng -w "$T/w.pcapng"
usage_err "repro: build --time 1e12 into pcapng" --time
# a run that walks past what the format holds stops with an error, not a wrap
run build 'ether{}' -c 3 --time 4294967294 --interval 1 -w "$T/w.pcap"
work_err "pcap: the packet past 2106 is refused (exit 1)" 1 "timestamp 4294967296.000000000 does not fit pcap"
run build 'ether{}' -c 3 --time 18446744072 --interval 1 --pcapng -w "$T/w.pcapng"
work_err "pcapng: the packet past 2554 is refused (exit 1)" 1 "timestamp 18446744074.000000000 does not fit pcapng"
# what fits reads back as written, through umpa and through tshark
run build 'ether{}' -c 2 --time 4294967294.5 --interval 0.5 -w "$T/w.pcap"
run show --json "$T/w.pcap"
same "pcap 2038..2106 reads back unsigned" \
	"$(grep -o '"frame.time_epoch":"[^"]*"' "$T/out" | tr '\n' ' ')" \
	'"frame.time_epoch":"4294967294.500000000" "frame.time_epoch":"4294967295.000000000" '
run build 'ether{}' --time 18446744073.709551615 --pcapng -w "$T/w.pcapng"
work_err "pcapng's last nanosecond is past --time's whole-second bound" 2 "pcapng seconds since 1970: 0 to 18446744072"
rm -f "$T/w.pcapng"
run build 'ether{}' --time 18446744071.999999999 --pcapng -w "$T/w.pcapng"
run show --json "$T/w.pcapng"
same "pcapng near 2554 reads back to the nanosecond" "$(grep -o '"frame.time_epoch":"[^"]*"' "$T/out")" \
	'"frame.time_epoch":"18446744071.999999999"'
if command -v tshark >/dev/null 2>&1; then
	same "tshark reads the pcap timestamps unsigned too" \
		"$(tshark -r "$T/w.pcap" -T fields -e frame.time_epoch 2>/dev/null | tr '\n' ' ')" \
		"4294967294.500000000 4294967295.000000000 "
else
	skipped "tshark reads the pcap timestamps" "no tshark"
fi

# tcpdump's own captures past 2038 (its test suite reads them unsigned, as tshark does)
CORPUS=${UMPA_CORPUS:-${top_srcdir:-..}/../shared/corpus/tcpdump-tests}
if [ -f "$CORPUS/time_2106_max.pcap" ] && command -v tshark >/dev/null 2>&1; then
	for f in time_2038_overflow time_2039 time_2106 time_2106_max; do
		run show --json "$CORPUS/$f.pcap"
		same "$f.pcap: the time tshark reads" "$(grep -o '"frame.time_epoch":"[^"]*"' "$T/out" | cut -d'"' -f4)" \
			"$(tshark -r "$CORPUS/$f.pcap" -T fields -e frame.time_epoch 2>/dev/null)"
	done
else
	skipped "tcpdump's time_2038..2106 captures" "no corpus at $CORPUS or no tshark"
fi

# ---- build -c respects --max ----
run build 'ether{}/ip{}/udp{dport={1,2,3}}' -w "$W" -c 2 --max 5
work_err "build -c 2 of 3 packets with --max 5" 2 "build: -c 2 times 3 packets is more than --max 5"
run build 'ether{}' -w "$W" -c 6 --max 5
usage_err "build -c 6 with --max 5" -c
run build 'ether{}/ip{}/udp{dport={1,2,3}}' -w "$W" -c 2 --max 6
[ "$RC" = 0 ] && ok "build -c 2 of 3 packets with --max 6" || failed "build -c 2 --max 6" "refused"

# ---- reproducer: cli-leak-tls-data-arg (a usage error after --early-data leaked its buffer) ----
run tls --early-data x --psk nan -w /dev/null
work_err "repro: tls --early-data x --psk nan" 2 "--psk: want 2 to 128 hex digits"
run tls --send-client x --send-server y --loss 2 -w /dev/null
usage_err "tls --send-client x --loss 2 (no leak)" --loss
run tls --early-data x --time nan -w /dev/null
usage_err "tls --early-data x --time nan (no leak)" --time
run tls --send-server x --resume sometimes -w /dev/null
work_err "tls --send-server x --resume sometimes (no leak)" 2 "--resume: 'sometimes'"

# ---- untrusted text reaches the terminal escaped ----
# reproducer: lua-error-terminal-escapes
printf 'error("\\27[2J\\27]0;pwn\\7\\r\\nfake: ok\\0hidden")' >"$T/esc.lua"
run build -f "$T/esc.lua" -w /dev/null
work_err "repro: a script's error with ESC, BEL, CR, LF, NUL" 1 '\x1b[2J\x1b]0;pwn\x07\r\nfake: ok\x00hidden'
if grep -q '^fake: ok' "$T/err"; then failed "no forged line" "a line starts 'fake: ok'"; else ok "no forged line"; fi
run build 'error("\27[31mred\27[0m\n\194\155\226\128\174rlo")' -w /dev/null
work_err "an expression's error: CSI, C1 in UTF-8 (\\u009b), right-to-left override" 1 \
	'\x1b[31mred\x1b[0m\n\u009b\u202erlo'
# a file name in an error
bad="$T/$(printf 'no\033[2Jsuch\rfile\n.pcap')"
run show "$bad"
work_err "a file name in an error" 1 'no\x1b[2Jsuch\rfile\n.pcap'
run build 'ether{}' -w "$T/nodir/$(printf 'x\033]0;t\007.pcap')"
work_err "an output file name in an error" 1 'x\x1b]0;t\x07.pcap'
# DNS names from the wire, in the line and tree renderers
run build 'ether{}/ip{}/udp{dport=53}/dns{qd="a\27[2J\r\nb\155\155.example"}' -w "$T/dns.pcap"
for mode in "" -v; do
	run show $mode "$T/dns.pcap"
	if [ "$RC" != 0 ] || [ ! -s "$T/out" ]; then
		failed "DNS name in show $mode" "exit $RC or no output"
	elif has_raw "$T/out"; then
		failed "DNS name in show $mode" "raw control bytes on stdout"
	else ok "DNS name in show ${mode:-(line)}: no raw control bytes"; fi
done
run show "$T/dns.pcap"
same "DNS: the query stays on one line" "$(wc -l <"$T/out")" 1
# TLS SNI and ALPN from the wire
cat >"$T/sni.lua" <<'EOF'
return tls{sni="x\27[2J\r\ny.test", alpn="h\27]0;t\7"}
EOF
run build -f "$T/sni.lua" -w "$T/sni.pcapng" --pcapng
for mode in "" -v; do
	run show $mode "$T/sni.pcapng"
	if [ "$RC" != 0 ] || [ ! -s "$T/out" ]; then
		failed "TLS SNI/ALPN in show $mode" "exit $RC or no output"
	elif has_raw "$T/out"; then
		failed "TLS SNI/ALPN in show $mode" "raw control bytes on stdout"
	else ok "TLS SNI/ALPN in show ${mode:-(line)}: no raw control bytes"; fi
done

# the tls command's own report: SNI, ALPN (and, compact, errors) as the conversation saw them
run tls -w "$T/r.pcap" --sni "$(printf 'x\033[2J\r\ny.test')" --alpn "$(printf 'h\033]0;t\007')"
if [ "$RC" != 0 ] || ! grep -qF 'Server name (SNI): x\x1b[2J\r\ny.test' "$T/out"; then
	failed "tls report: SNI escaped" "exit $RC or no escaped SNI line"
elif ! grep -qF 'ALPN protocol: h\x1b]0;t\x07' "$T/out"; then
	failed "tls report: ALPN escaped" "no escaped ALPN line"
elif has_raw "$T/out"; then
	failed "tls report" "raw control bytes on stdout"
else ok "tls report: SNI and ALPN escaped"; fi

# an interface name (the kernel allows ESC in one), in a namespace of our own: nothing is sent
if unshare -n true 2>/dev/null && command -v ip >/dev/null 2>&1; then
	LAST_ARGS=(ifaces "(in a new network namespace)")
	unshare -n sh -c 'ip link add "$(printf "e\033[2J")" type veth peer name umpa-p0 && "$1" ifaces' sh "$UMPA" \
		>"$T/out" 2>"$T/err"
	RC=$?
	if [ "$RC" != 0 ] || ! grep -qF 'e\x1b[2J ' "$T/out"; then
		failed "ifaces: an interface name with ESC" "exit $RC or the name is not escaped"
	elif has_raw "$T/out"; then
		failed "ifaces: an interface name with ESC" "raw control bytes on stdout"
	else ok "ifaces: an interface name with ESC is escaped"; fi
else
	skipped "ifaces: an interface name with ESC" "cannot make a network namespace (not root?)"
fi

echo
echo "numbers: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
