#!/usr/bin/env bash
# show_tcpdump.sh - `umpa show` read like tcpdump: options anywhere, -r FILE, a BPF
# filter as trailing words, -n, -t..-ttttt, -x/-X/-xx/-XX, relative TCP numbers
# (-S absolute), the file's frame numbers under a filter, and pipes both ways with
# real tcpdump and tshark.  The expected outputs are real tcpdump's and tshark's on
# the same files, never written here.  Needs the shared corpus (ssh.pcap: a TCP
# session with SACK), tcpdump and tshark; without them: skipped (77).
# Environment: UMPA (default $top_builddir/umpa), top_builddir, top_srcdir, UMPA_CORPUS.
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
F=$CORPUS/ssh.pcap
[ -r "$F" ] || { echo "show_tcpdump: no $F: skipped"; exit 77; }
for t in tcpdump tshark python3; do
	command -v $t >/dev/null 2>&1 || { echo "show_tcpdump: $t missing: skipped"; exit 77; }
done
. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir show_tcpdump) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
export TZ=UTC
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -n "${2:-}" ] && echo "$2" | head -8; }
# same NAME FILE-A FILE-B: both exist, are not empty and are identical
same() {
	if [ ! -s "$2" ]; then bad "$1" "(no output)"
	elif cmp -s "$2" "$3"; then ok "$1"
	else bad "$1" "$(diff "$2" "$3")"; fi
}
u() { timeout 60 "$UMPA" "$@" 2>"$T/err"; }
td() { timeout 60 tcpdump -nn "$@" 2>/dev/null; }

# The packets tcpdump decodes further than umpa (the SSH banners: tcpdump names the
# payload) are left out by the filter, given to both as trailing words.
FLT='tcp[tcpflags] & tcp-push == 0'
td -r "$F" "$FLT" >"$T/td"
u show "$F" "$FLT" >"$T/u"
same "show FILE FILTER... = tcpdump -nn -r FILE FILTER (relative seq, ack and SACK)" "$T/u" "$T/td"
[ "$(wc -l <"$T/td")" -ge 25 ] && ok "the comparison covers $(wc -l <"$T/td") packets" || bad "too few packets compared"
u show -r "$F" -n "$FLT" >"$T/u"
same "show -r FILE -n FILTER" "$T/u" "$T/td"
u show -n "$FLT" -r "$F" >"$T/u" 2>/dev/null
# (getopt permutes: the filter words may come before -r too)
same "show -n FILTER -r FILE" "$T/u" "$T/td"

for o in -S -t -tt -ttt -tttt -ttttt -x -X -xx -XX "-S -X -ttt"; do
	# shellcheck disable=SC2086
	td $o -r "$F" "$FLT" >"$T/td"
	# shellcheck disable=SC2086
	u show "$F" $o "$FLT" >"$T/u"
	same "show $o = tcpdump $o" "$T/u" "$T/td"
done

# frame numbers under a filter are the file's
want=$(tshark -r "$F" -Y 'tcp.flags.push == 1' -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
got=$(u show --json "$F" 'tcp[tcpflags] & tcp-push != 0' | python3 -c '
import json, sys
print(" ".join(str(json.loads(l)["frame.number"]) for l in sys.stdin), end=" ")')
[ -n "$want" ] && [ "$got" = "$want" ] && ok "frame numbers under a filter are the file's ($got)" ||
	bad "frame numbers under a filter" "umpa: $got / tshark: $want"

# pipes, both ways, with real tcpdump and tshark
td -r "$F" "$FLT" >"$T/td"
timeout 60 tcpdump -r "$F" -w - 2>/dev/null | u show -r - "$FLT" >"$T/u"
same "tcpdump -w - | umpa show -r - FILTER" "$T/u" "$T/td"
timeout 60 tshark -r "$F" -F pcap -w - 2>/dev/null | u show - "$FLT" >"$T/u"
same "tshark -w - | umpa show -" "$T/u" "$T/td"
u show "$F" -c 3 >"$T/u"
timeout 60 "$UMPA" build 'ether{}/ip{dst="10.0.0.2"}/udp{sport=1000,dport={2001,2002,2003}}' -w - 2>/dev/null |
	timeout 60 tcpdump -nn -r - 2>/dev/null | sed 's/^[^ ]* //' >"$T/td"
timeout 60 "$UMPA" build 'ether{}/ip{dst="10.0.0.2"}/udp{sport=1000,dport={2001,2002,2003}}' -w "$T/b.pcap" 2>/dev/null
u show "$T/b.pcap" -t >"$T/u"
same "umpa build -w - | tcpdump -r - (= umpa show -t)" "$T/td" "$T/u"
n=$(timeout 60 "$UMPA" build 'ether{}/ip{dst="10.0.0.2"}/udp{sport=1000,dport={2001,2002,2003}}' -w - 2>/dev/null |
	timeout 60 tshark -r - -T fields -e udp.dstport 2>/dev/null | tr '\n' ' ')
[ "$n" = "2001 2002 2003 " ] && ok "umpa build -w - | tshark -r -" || bad "umpa build -w - | tshark -r -" "$n"

# sniff takes the same options and a filter as words; -w - feeds tcpdump (on loopback only)
if [ "$(id -u)" = 0 ] && command -v ping >/dev/null 2>&1; then
	(sleep 1; ping -c 4 -i 0.2 -W 1 127.0.0.1 >/dev/null 2>&1) &
	timeout 20 "$UMPA" sniff -i lo -c 2 --timeout 8 icmp and host 127.0.0.1 -x -tt >"$T/u" 2>"$T/err"
	wait
	if [ "$(grep -c 'ICMP echo' "$T/u")" = 2 ] && grep -qE '^[0-9]+\.[0-9]{6} IP 127' "$T/u" &&
		grep -qP '^\t0x0000:  4500 0054' "$T/u"; then
		ok "sniff -i lo -c 2 icmp and host 127.0.0.1 -x -tt: filter as words, epoch time, hex"
	else
		bad "sniff with a filter as words, -x -tt" "$(cat "$T/u" "$T/err")"
	fi
	(sleep 1; ping -c 4 -i 0.2 -W 1 127.0.0.1 >/dev/null 2>&1) &
	timeout 20 "$UMPA" sniff -i lo -c 2 --timeout 8 -w - icmp 2>/dev/null | timeout 20 tcpdump -nn -r - >"$T/td" 2>/dev/null
	wait
	[ "$(grep -c 'ICMP echo' "$T/td")" = 2 ] && ok "sniff -w - | tcpdump -r -" || bad "sniff -w - | tcpdump -r -" "$(cat "$T/td")"
else
	echo "skipped: sniff on lo (not root or no ping)"
	[ "${CI:-}" = true ] && FAIL=$((FAIL + 1))
fi

# usage errors: one line, exit 2
for args in "-tttttt" "-f udp FILTERWORD" "not-a-filter-(((" "--stats=bogus" "--stats=io,0"; do
	# shellcheck disable=SC2086
	timeout 60 "$UMPA" show "$F" $args >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^umpa: ' "$T/err"; then
		ok "show FILE $args: exit 2, one line ($(cat "$T/err"))"
	else
		bad "show FILE $args: exit $rc" "$(cat "$T/err")"
	fi
done
timeout 60 "$UMPA" show -r "$F" "$F" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && ok "show -r FILE with a filter that is not one: exit 2" || bad "show -r F F" "$(cat "$T/err")"

echo "show_tcpdump: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
