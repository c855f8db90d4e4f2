#!/usr/bin/env bash
# scapy_names.sh - Scapy's spelling in umpa expressions, byte for byte.
#
# Each case is one expression in Scapy's syntax (Ether()/IP(dst=...)/TCP(...),
# Raw, DNSQR/DNSRR, ICMPv6EchoRequest, Dot1Q, ARP, option tuples, [..] lists)
# and the same packet in umpa's native syntax.  The Scapy text is built three
# ways: by `umpa build` (Scapy syntax), by `umpa build` (native syntax) and by
# real Scapy (raw(...)); all three must give the same bytes.  Then:
#   - fragment(pkt, size) and `umpa build --fragment N` against Scapy's
#     fragment() / fragment6(), and tshark reassembles the fragments into the
#     original datagram (IPv4 and IPv6);
#   - an unknown name or value says "did you mean ..." (constructor, field,
#     enum value, flag name, Scapy field name), one line, exit 1.
# Environment: UMPA, top_srcdir.  Needs /usr/bin/python3 with Scapy, and tshark.
set -uo pipefail
UMPA=${UMPA:-./umpa}
srcdir=${top_srcdir:-$(dirname "$0")/../..}
PY=/usr/bin/python3
. "$srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir scapy) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -z "${2:-}" ] || echo "    $2"; }
command -v tshark >/dev/null 2>&1 || { echo "FAILED: tshark missing (tests/deps.sh installs it)"; exit 1; }
"$PY" -c 'import scapy.all' 2>/dev/null || { echo "FAILED: $PY cannot import scapy (python3-scapy)"; exit 1; }

# NAME | SCAPY EXPRESSION | UMPA EXPRESSION
cat >"$T/cases" <<'EOF2'
ether-ip-tcp|Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")/IP(src="10.0.0.2", dst="10.0.0.1", ttl=5)/TCP(dport=80, flags="S")|ether{dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01"}/ip{src="10.0.0.2", dst="10.0.0.1", ttl=5}/tcp{dport=80, flags="S"}
tcp-options|IP(src="10.0.0.2", dst="10.0.0.1")/TCP(sport=1234, dport=443, seq=1000, ack=7, flags="PA", window=512, options=[("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", ""), ("Timestamp", (5, 0)), ("SAck", (100, 200))])/Raw(load="hi")|ip{src="10.0.0.2", dst="10.0.0.1"}/tcp{srcport=1234, dstport=443, seq=1000, ack=7, flags="AP", window_size_value=512, options="mss=1460,nop,wscale=7,sackok,ts=5:0,sack=100-200"}/"hi"
udp-dns-query|IP(src="10.0.0.2", dst="10.0.0.1", flags="DF", id=7)/UDP(sport=1234, dport=53)/DNS(id=1, rd=1, qd=DNSQR(qname="example.com", qtype="AAAA"))|ip{src="10.0.0.2", dst="10.0.0.1", flags="df", id=7}/udp{srcport=1234, dstport=53}/dns{id=1, qd="example.com:AAAA"}
dns-answer|IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=53, dport=1234)/DNS(id=9, qr=1, rd=1, ra=1, qd=DNSQR(qname="a.example"), an=DNSRR(rrname="a.example", ttl=60, rdata="192.0.2.1"))|ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=53, dport=1234}/dns{id=9, flags="qr|rd|ra", qd="a.example", an="a.example:A:60:192.0.2.1"}
icmp-echo|IP(src="10.0.0.2", dst="10.0.0.1")/ICMP(type="echo-request", id=5, seq=9)/Raw(load="hello")|ip{src="10.0.0.2", dst="10.0.0.1"}/icmp{ident=5, seq=9}/"hello"
arp|Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")/ARP(op="who-has", hwsrc="02:00:00:00:00:01", psrc="10.0.0.2", pdst="10.0.0.1")|eth{dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01"}/arp{opcode="request", ["src.hw_mac"]="02:00:00:00:00:01", ["src.proto_ipv4"]="10.0.0.2", ["dst.proto_ipv4"]="10.0.0.1"}
dot1q|Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/Dot1Q(vlan=5, prio=3)/IP(src="10.0.0.2", dst="10.0.0.1")/UDP(sport=1, dport=2)|eth{dst="02:00:00:00:00:02", src="02:00:00:00:00:01"}/vlan{id=5, priority=3}/ip{src="10.0.0.2", dst="10.0.0.1"}/udp{srcport=1, dstport=2}
ipv6-echo|IPv6(src="fd00::2", dst="fd00::1", hlim=7)/ICMPv6EchoRequest(id=7, seq=1)/Raw(load="abc")|ipv6{src="fd00::2", dst="fd00::1", hlim=7}/icmpv6{type="echo-request", id=7, seq=1}/"abc"
raw-repeat|IP(src="10.0.0.2", dst="10.0.0.1", proto=17)/Raw(load="A"*20)|ip{src="10.0.0.2", dst="10.0.0.1", proto="udp"}/raw{load=string.rep("A", 20)}
lists|IP(src="10.0.0.2", dst="10.0.0.1")/UDP(sport=7, dport=[9, 13, 37])|ip{src="10.0.0.2", dst="10.0.0.1"}/udp{sport=7, dport={9, 13, 37}}
EOF2

# umpa builds both syntaxes of every case
while IFS='|' read -r name scapy native; do
	[ -n "$name" ] || continue
	"$UMPA" build -w "$T/$name.scapy.pcap" "$scapy" >/dev/null 2>"$T/$name.scapy.err" ||
		bad "$name: umpa builds the Scapy syntax" "$(cat "$T/$name.scapy.err")"
	"$UMPA" build -w "$T/$name.native.pcap" "$native" >/dev/null 2>"$T/$name.native.err" ||
		bad "$name: umpa builds the native syntax" "$(cat "$T/$name.native.err")"
done <"$T/cases"

# fragment(): IPv4 and IPv6, as a Lua function and as build --fragment
V4='IP(src="10.0.0.2", dst="10.0.0.1", id=77)/UDP(sport=1234, dport=9)/Raw(load="abcdefghij"*10)'
V6='IPv6(src="fd00::2", dst="fd00::1")/IPv6ExtHdrFragment(id=5)/UDP(sport=1234, dport=9)/Raw(load="abcdefghij"*10)'
"$UMPA" build -w "$T/f4.pcap" "fragment($V4, 24)" >/dev/null 2>"$T/err" || bad "fragment v4 builds" "$(cat "$T/err")"
"$UMPA" build --fragment 20 -w "$T/f4cli.pcap" "$V4" >/dev/null 2>"$T/err" || bad "--fragment builds" "$(cat "$T/err")"
"$UMPA" build -w "$T/f6.pcap" "fragment($V6, 24)" >/dev/null 2>"$T/err" || bad "fragment v6 builds" "$(cat "$T/err")"
# 8 + 92 bytes with 20: five pieces of 16 and a last one of 20 (longer than the others)
V4L='IP(src="10.0.0.2", dst="10.0.0.1", id=78)/UDP(sport=1234, dport=9)/Raw(load="x"*92)'
"$UMPA" build -w "$T/f4long.pcap" "fragment($V4L, 20)" >/dev/null 2>"$T/err" || bad "fragment v4 (long last piece) builds" "$(cat "$T/err")"
printf '%s\n%s\n%s\n' "$V4" "$V6" "$V4L" >"$T/frag-exprs"

# one Python: real Scapy's raw() of every case and its fragment()/fragment6(), against umpa's pcaps
"$PY" - "$T" >"$T/py.out" 2>"$T/py.err" <<'EOF2'
import struct, sys
from scapy.all import raw, fragment, fragment6
from scapy.all import *  # the names the expressions use
d = sys.argv[1]

def pcap(path):
    out = []
    try:
        b = open(path, "rb").read()
    except OSError:
        return out
    o = 24
    while o + 16 <= len(b):
        n = struct.unpack("<I", b[o + 8:o + 12])[0]
        out.append(b[o + 16:o + 16 + n].hex())
        o += 16 + n
    return out

def report(name, good, why=""):
    print(("ok: " if good else "FAILED: ") + name + ("" if good else "\n    " + why))

for line in open(d + "/cases"):
    name, scapy, native = line.rstrip("\n").split("|", 2)
    a, b = pcap("%s/%s.scapy.pcap" % (d, name)), pcap("%s/%s.native.pcap" % (d, name))
    try:
        c = [raw(p).hex() for p in eval(scapy)]
    except Exception as e:
        c = ["scapy: %r" % e]
    report(name + ": Scapy syntax = native syntax", a and a == b, "scapy-syntax %s | native %s" % (a, b))
    report(name + ": umpa = real Scapy raw()", a and a == c, "umpa %s | scapy %s" % (a, c))

v4, v6, v4l = open(d + "/frag-exprs").read().splitlines()
f4, f4cli, f6 = pcap(d + "/f4.pcap"), pcap(d + "/f4cli.pcap"), pcap(d + "/f6.pcap")
s4 = [raw(f).hex() for f in fragment(eval(v4), 24)]
s4b = [raw(f).hex() for f in fragment(eval(v4), 20)]  # 16-byte pieces, the last up to 20
# Scapy's fragment6 size is the whole fragment: 40 (IPv6) + 8 (fragment header) + 24
s6 = [raw(f).hex() for f in fragment6(eval(v6), 40 + 8 + 24)]
report("fragment v4: 108 bytes in 24-byte pieces: 5 fragments", len(f4) == 5, str(len(f4)))
report("fragment(pkt, 24) = Scapy's fragment(pkt, 24)", f4 and f4 == s4, "umpa %s | scapy %s" % (f4, s4))
report("build --fragment 20 = Scapy's fragment(pkt, 20) (16-byte pieces)", f4cli and f4cli == s4b, "umpa %s | scapy %s" % (f4cli, s4b))
report("fragment v6 = Scapy's fragment6()", f6 and f6 == s6, "umpa %s | scapy %s" % (f6, s6))
f4l, s4l = pcap(d + "/f4long.pcap"), [raw(f).hex() for f in fragment(eval(v4l), 20)]
report("fragment(pkt, 20), a last piece of 20 = Scapy's (6 fragments)", len(f4l) == 6 and f4l == s4l, "umpa %s | scapy %s" % (f4l, s4l))
EOF2
cat "$T/py.out"
PASS=$((PASS + $(grep -c '^ok:' "$T/py.out")))
FAIL=$((FAIL + $(grep -c '^FAILED:' "$T/py.out")))
[ "$(grep -c '^\(ok\|FAILED\):' "$T/py.out")" -eq 25 ] || bad "the Scapy comparison ran every check" "$(head -c 600 "$T/py.err")"

# tshark reassembles the fragments into the original datagram
want=$(printf 'abcdefghij%.0s' {1..10} | xxd -p | tr -d '\n')
for v in 4 6; do
	got=$(tshark -r "$T/f$v.pcap" -o ip.defragment:TRUE -o ipv6.defragment:TRUE -Y udp -T fields -e udp.length -e data 2>"$T/err")
	if [ "$got" = "$(printf '108\t%s' "$want")" ]; then
		ok "tshark reassembles the IPv$v fragments into the 108-byte datagram"
	else
		bad "tshark reassembles the IPv$v fragments" "got '$got' $(grep -v 'Running as user' "$T/err" | head -c 200)"
	fi
done
"$UMPA" build -w "$T/x.pcap" 'fragment(IPv6(dst="fd00::1")/UDP()/Raw(load="x"*40), 8)' >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "fragment header" "$T/err" && ok "IPv6 without a fragment header: exit 1, says so" || bad "IPv6 without fragment header" "rc $rc $(cat "$T/err")"

# did you mean: one line, exit 1 (expression errors)
dym() { # NAME EXPR WANT
	"$UMPA" build -w "$T/x.pcap" "$2" >/dev/null 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF "did you mean '$3'" "$T/err"; then
		ok "did you mean: $1"
	else
		bad "did you mean: $1 (want '$3')" "exit $rc: $(cat "$T/err")"
	fi
}
dym "constructor IPP()" 'IPP()/TCP()' IP
dym "constructor Ehter()" 'Ehter()/IP()' Ether
dym "constructor ipv5{}" 'ipv5{}' ipv4
dym "field tll" 'ip{tll=5}' ttl
dym "Scapy field dts" 'IP(dts="10.0.0.1")' dst
dym "Scapy field dprot" 'IP()/TCP(dprot=80)' dport
dym "enum value echo-reqest" 'IP()/ICMP(type="echo-reqest")' echo-request
dym "ARP op who-hsa" 'Ether()/ARP(op="who-hsa")' who-has
dym "flag name akc" 'IP()/TCP(flags="syn|akc")' ack
# inside option and record text, and the tables that stand for it
dym "Scapy TCP option pair MSSS" 'IP()/TCP(options={{"MSSS", 1460}})' mss
dym "TCP option text wscal" 'IP()/TCP(options="mss=1460,wscal=7")' wscale
dym "option table key tpye" 'IP()/TCP(options={{tpye="mss", value=1460}})' type
dym "option table key valeu" 'IP()/TCP(options={{type="mss", valeu=1460}})' value
dym "IP option lsrrr" 'IP(options="lsrrr=10.0.0.1")/ICMP()' lsrr
dym "IPv6 hop-by-hop option jumb" 'IPv6()/ipv6_hop{options="jumb=70000"}/UDP()' jumbo
dym "ND option slal" 'IPv6()/ICMPv6ND_NS(options="slal=00:11:22:33:44:55")' slla
dym "DHCP option message-typ" 'IP()/UDP(sport=68,dport=67)/dhcp{options={{"message-typ","discover"}}}' message_type
dym "DNS query type AAAAA" 'IP()/UDP()/DNS(qd="example.com:AAAAA")' AAAA
dym "DNS class INN" 'IP()/UDP()/DNS(qd="example.com:A:INN")' IN
dym "DNSRR type AAA" 'IP()/UDP()/DNS(an=DNSRR{rrname="a.example", type="AAA", rdata="::1"})' AAAA
dym "DNSQR key qnme" 'IP()/UDP()/DNS(qd=DNSQR{qnme="a.example"})' qname
"$UMPA" build -w "$T/x.pcap" 'IP()/TCP(flags="syn|zzzzzz")' >/dev/null 2>"$T/err"
grep -q "did you mean" "$T/err" && bad "no suggestion for a far name" "$(cat "$T/err")" || ok "no suggestion for a name far from every known one"

echo "scapy_names: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
