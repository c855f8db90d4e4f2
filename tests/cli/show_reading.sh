#!/usr/bin/env bash
# show_reading.sh - reading like tcpdump and tshark, the parts after show_tcpdump.sh:
#   -e (link headers: Ethernet, 802.1Q/QinQ tags, Linux cooked) against tcpdump -e;
#   show -w OUT / -w - in pipes with tcpdump and tshark, both ways;
#   pcapng packet comments (umpa's own and editcap's) in the one-line form, the
#   tree and JSON, against tshark's frame.comment;
#   JSON keys without values, repeated keys as arrays (jq-addressable), and
#   ip.hdr_len / tcp.hdr_len in bytes equal to tshark's;
#   `umpa help CMD` for every command `umpa --help` lists, "wrote 1 packet",
#   error lines cut between words.
# The expected outputs are tcpdump's and tshark's on the same files, never
# written here.  Needs the shared corpus, tcpdump, tshark, editcap and python3;
# without them: skipped (77).
# Environment: UMPA (default $top_builddir/umpa), top_builddir, top_srcdir, UMPA_CORPUS.
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
for f in ssh.pcap 802.1ad_QinQ.pcap resp_1_benchmark.pcap; do
	[ -r "$CORPUS/$f" ] || { echo "show_reading: no $CORPUS/$f: skipped"; exit 77; }
done
for t in tcpdump tshark editcap python3; do
	command -v $t >/dev/null 2>&1 || { echo "show_reading: $t missing: skipped"; exit 77; }
done
. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir show_reading) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
export TZ=UTC
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -n "${2:-}" ] && echo "$2" | head -8; }
u() { timeout 60 "$UMPA" "$@" 2>"$T/err"; local r=$?; [ $r -gt 128 ] && bad "umpa $* crashed (status $r)" "$(cat "$T/err")"; return $r; }
td() { timeout 60 tcpdump -nn "$@" 2>/dev/null; }
ts() { timeout 60 tshark "$@" 2>/dev/null; }

# ---- -e: every packet whose line equals tcpdump's without -e equals tcpdump -e's with it
# (Ethernet; 802.1ad + 802.1Q tags over ARP; Linux cooked v1), and the tag that the
# link header already names ("IP ", "ARP, ") is gone, as in tcpdump -e.
"$UMPA" build -w "$T/vlan.pcap" 'ether{src="02:00:00:00:00:01"}/vlan{vlan=5, prio=3, dei=1}/ip{dst="10.0.0.2"}/udp{sport=1000, dport=9}' \
	'ether{src="02:00:00:00:00:01"}/ipv6{dst="fd00::2"}/icmpv6{type="echo-request"}' \
	'ether{src="02:00:00:00:00:01"}/arp{pdst="10.0.0.9"}' 2>/dev/null
for f in "$CORPUS/ssh.pcap" "$CORPUS/802.1ad_QinQ.pcap" "$CORPUS/resp_1_benchmark.pcap" "$T/vlan.pcap"; do
	td -r "$f" >"$T/td"
	u show "$f" >"$T/u"
	td -e -r "$f" >"$T/tde"
	u show -e "$f" >"$T/ue"
	r=$(python3 - "$T/td" "$T/u" "$T/tde" "$T/ue" <<'EOF'
import sys
td, u, tde, ue = (open(p).read().splitlines() for p in sys.argv[1:])
same = [i for i in range(min(len(td), len(u))) if td[i] == u[i]]
diff = [i + 1 for i in same if i >= len(ue) or i >= len(tde) or ue[i] != tde[i]]
print(len(same), len(td), " ".join(map(str, diff[:5])))
EOF
)
	set -- $r
	if [ "${1:-0}" -gt 0 ] && [ -z "${3:-}" ]; then
		ok "show -e = tcpdump -e on $(basename "$f") ($1 of $2 packets, the ones umpa prints as tcpdump does)"
	else
		bad "show -e = tcpdump -e on $(basename "$f")" "$r: $(diff "$T/tde" "$T/ue" | head -4)"
	fi
done
grep -q ', ethertype 802.1Q (0x8100), length [0-9]*: vlan 5, p 3, DEI, ethertype IPv4 (0x0800), 127.0.0.1' "$T/ue" &&
	ok "-e: a VLAN tag as tcpdump -e prints it" || bad "-e: VLAN tag" "$(cat "$T/ue")"

# ---- -w OUT and -w -: the filtered packets, readable by tcpdump and tshark
F=$CORPUS/ssh.pcap
FLT='tcp[tcpflags] & tcp-push != 0'
u show "$F" -w - "$FLT" | td -r - >"$T/a"
td -r "$F" "$FLT" >"$T/b"
[ -s "$T/b" ] && cmp -s "$T/a" "$T/b" && ok "umpa show FILE FILTER -w - | tcpdump -r - = tcpdump -r FILE FILTER ($(wc -l <"$T/b") packets)" ||
	bad "show -w - | tcpdump -r -" "$(diff "$T/a" "$T/b")"
timeout 60 tcpdump -r "$F" -w - 2>/dev/null | u show -r - -w - | ts -r - -T fields -e frame.len -e tcp.seq_raw >"$T/a"
ts -r "$F" -T fields -e frame.len -e tcp.seq_raw >"$T/b"
[ -s "$T/b" ] && cmp -s "$T/a" "$T/b" && ok "tcpdump -w - | umpa show -r - -w - | tshark -r - = tshark -r FILE" ||
	bad "tcpdump -w - | umpa show -r - -w - | tshark" "$(diff "$T/a" "$T/b" | head)"
u show "$F" -w "$T/w.pcap" -c 5
[ "$(td -r "$T/w.pcap" | wc -l)" -eq 5 ] && [ ! -s "$T/err" ] && ok "show -w OUT -c 5 writes 5 packets, prints nothing" ||
	bad "show -w OUT -c 5" "$(cat "$T/err")"

# ---- pcapng comments: umpa's own (build --comment) and editcap's, as tshark reads them
"$UMPA" build --pcapng --comment 'run 1: 10.0.0.2, héllo' -w "$T/c1.pcapng" 'ether{}/ip{dst="10.0.0.2"}/udp{dport={1,2,3,4}}' 2>/dev/null
"$UMPA" build --pcapng -w "$T/c0.pcapng" 'ether{}/ip{dst="10.0.0.2"}/udp{dport={1,2,3,4}}' 2>/dev/null
editcap -a '2:second packet' -a '4:the fourth, with words' "$T/c0.pcapng" "$T/c2.pcapng" >/dev/null 2>&1
for f in c1 c2; do
	want=$(ts -r "$T/$f.pcapng" -T fields -e frame.number -e frame.comment)
	got=$(u show --json "$T/$f.pcapng" | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    print("%d\t%s" % (o["frame.number"], o.get("frame.comment", "")))')
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "show --json frame.comment = tshark's frame.comment ($f)" ||
		bad "frame.comment ($f)" "umpa: $got / tshark: $want"
done
u show -t "$T/c2.pcapng" 'udp dst port 4' >"$T/a"
grep -qx 'IP 127.0.0.1.53 > 10.0.0.2.4: UDP, length 0 \[comment: the fourth, with words\]' "$T/a" &&
	ok "one-line form: [comment: ...], also under a filter" || bad "one-line comment" "$(cat "$T/a")"
u show -v "$T/c1.pcapng" -c 1 >"$T/a"
grep -q '^Packet comments$' "$T/a" && grep -q '^    frame.comment: run 1: 10.0.0.2, héllo$' "$T/a" &&
	ok "tree: Packet comments / frame.comment (UTF-8 kept)" || bad "tree comment" "$(head -5 "$T/a")"
u show "$T/c2.pcapng" --pcapng -w - | ts -r - -T fields -e frame.comment >"$T/a"
ts -r "$T/c2.pcapng" -T fields -e frame.comment >"$T/b"
cmp -s "$T/a" "$T/b" && ok "show --pcapng -w - keeps the comments (tshark reads them back)" || bad "show --pcapng -w - comments" "$(diff "$T/a" "$T/b")"

# ---- JSON: keys are names, never values; repeated keys are arrays; hdr_len in bytes as tshark's
for f in "$CORPUS/ssh.pcap" "$T/c1.pcapng"; do
	u show --json "$f" >"$T/j"
	r=$(python3 - "$T/j" <<'EOF'
import json, re, sys
bad = []
def hook(pairs):
    ks = [k for k, _ in pairs]
    for k in ks:
        if ks.count(k) > 1:
            bad.append("duplicate key " + k)
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", k) and k not in (
                "Queries", "Answers", "Authoritative nameservers", "Additional records"):
            bad.append("key with a value in it: " + k)
    return dict(pairs)
for l in open(sys.argv[1]):
    json.loads(l, object_pairs_hook=hook)
print("; ".join(sorted(set(bad))[:5]))
EOF
)
	[ -z "$r" ] && ok "JSON keys of $(basename "$f"): names only, no duplicates" || bad "JSON keys of $(basename "$f")" "$r"
done
# SACK edges (tcpdump's ssh.pcap has them): arrays under the option's own key
r=$(u show --json "$F" | python3 -c '
import json, sys
for l in sys.stdin:
    for lay in json.loads(l)["layers"]:
        s = lay.get("tcp.options_tree", {}).get("tcp.options.sack")
        if s:
            s = s if isinstance(s, list) else [s]
            print(s[0]["tcp.options.sack_le"], s[0]["tcp.options.sack_re"]); sys.exit()')
want=$(ts -r "$F" -o tcp.relative_sequence_numbers:FALSE -Y tcp.options.sack_le -T fields -e tcp.options.sack_le -e tcp.options.sack_re | head -1 |
	python3 -c 'import sys; a, b = sys.stdin.read().split("\t"); print([int(x) for x in a.split(",")] if "," in a else int(a), [int(x) for x in b.split(",")] if "," in b else int(b))')
[ -n "$r" ] && [ "$r" = "$want" ] && ok "jq-addressable SACK edges [\"tcp.options_tree\"][\"tcp.options.sack\"] = tshark's ($r)" ||
	bad "SACK edges by key" "umpa: $r / tshark: $want"
got=$(u show --json "$F" -c 10 | python3 -c '
import json, sys
for l in sys.stdin:
    ls = {x["_layer"]: x for x in json.loads(l)["layers"]}
    print("%s\t%s" % (ls["ip"]["ip.hdr_len"], ls["tcp"]["tcp.hdr_len"]))')
want=$(ts -r "$F" -c 10 -T fields -e ip.hdr_len -e tcp.hdr_len)
[ -n "$want" ] && [ "$got" = "$want" ] && ok "ip.hdr_len and tcp.hdr_len in bytes, equal to tshark's" ||
	bad "hdr_len in bytes" "umpa: $got / tshark: $want"
"$UMPA" build -w "$T/h.pcap" 'ip{dst="10.0.0.2", hdr_len=24, options="ra"}/tcp{hdr_len=28, options="mss=1460,wscale=7"}' \
	'ip{dst="10.0.0.2", ihl=6, options="ra"}/tcp{dataofs=7, options="mss=1460,wscale=7"}' 2>/dev/null
got=$(ts -r "$T/h.pcap" -T fields -e ip.hdr_len -e tcp.hdr_len | tr '\n' ' ')
[ "$got" = "24	28 24	28 " ] && ok "build: hdr_len=24 means bytes, ihl=6 / dataofs=7 words (tshark: $got)" || bad "build hdr_len units" "$got"
"$UMPA" build -w "$T/h.pcap" 'ip{hdr_len=22}/tcp{}' 2>"$T/err"
[ $? -eq 1 ] && grep -q 'ip.hdr_len: 22 is not a multiple of 4' "$T/err" && ok "hdr_len=22: one line, exit 1" ||
	bad "hdr_len=22" "$(cat "$T/err")"

# ---- umpa help CMD, for every command umpa --help lists
cmds=$("$UMPA" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
n=0
for c in $cmds; do
	a=$(timeout 10 "$UMPA" help "$c" 2>&1)
	ra=$?
	b=$(timeout 10 "$UMPA" "$c" --help 2>&1)
	if [ $ra -eq 0 ] && [ -n "$a" ] && [ "$a" = "$b" ] && echo "$a" | grep -q "usage: umpa $c"; then
		n=$((n + 1))
	else
		bad "umpa help $c" "$a"
	fi
done
[ "$n" -ge 8 ] && ok "umpa help CMD = umpa CMD --help for all $n commands" || bad "umpa help: only $n commands"
"$UMPA" help nosuchcmd >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "unknown command 'nosuchcmd'" "$T/err" && ok "umpa help UNKNOWN: exit 2, one line" || bad "help unknown" "$(cat "$T/err")"

# ---- counts in words: "wrote 1 packet", "wrote 2 packets"
"$UMPA" build -w "$T/one.pcap" 'ip{dst="10.0.0.2"}/udp{}' 2>"$T/err"
grep -qx "umpa: wrote 1 packet to $T/one.pcap" "$T/err" && ok "wrote 1 packet" || bad "wrote 1 packet" "$(cat "$T/err")"
"$UMPA" build -w "$T/two.pcap" 'ip{dst="10.0.0.2"}/udp{dport={1,2}}' 2>"$T/err"
grep -qx "umpa: wrote 2 packets to $T/two.pcap" "$T/err" && ok "wrote 2 packets" || bad "wrote 2 packets" "$(cat "$T/err")"
u show "$T/one.pcap" --stats >/dev/null
grep -qx '1 packet, 0 truncated layers, 0 invalid layers' "$T/err" && ok "show --stats: 1 packet" || bad "show --stats singular" "$(cat "$T/err")"

# ---- error lines are cut between words, never inside one
"$UMPA" build -w "$T/x.pcap" 'ether{}/ip{}/tcp{}/tls{nonexistent=1}' 2>"$T/err"
l=$(cat "$T/err")
if [ "$(wc -l <"$T/err")" -eq 1 ] && [ "${l: -4}" = " ..." ]; then
	w=$(echo "$l" | sed 's/ \.\.\.$//; s/.*[ ,(]//')
	"$UMPA" build -w "$T/x.pcap" "ether{}/ip{}/tcp{}/tls{$w=1}" 2>&1 | grep -q "unknown option '$w'" &&
		bad "the last word '$w' of a cut error line is not a whole option name" ||
		ok "a long error line ends ' ...' after a whole word ('$w')"
else
	bad "long error line cut between words" "$l"
fi

# ---- the man page documents every option show and sniff take, and has EXAMPLES
MAN=$top_srcdir/tools/umpa.1
for c in show sniff; do
	r=$("$UMPA" $c --help | python3 -c '
import re, sys
man = open(sys.argv[1]).read()
man = re.sub(r"\\f[BIRP]", "", man).replace("\\-", "-")
opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z]{1,5})\b", sys.stdin.read()))
missing = sorted(o for o in opts if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", man))
print(" ".join(missing))' "$MAN")
	[ -z "$r" ] && ok "umpa.1 documents every option of '$c --help'" || bad "umpa.1 lacks options of $c" "$r"
done
grep -q '^\.SH EXAMPLES' "$MAN" && ok "umpa.1 has an EXAMPLES section" || bad "umpa.1 EXAMPLES"

echo "show_reading: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
