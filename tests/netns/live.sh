#!/usr/bin/env bash
# live.sh - `umpa ifaces` and `umpa sniff` against a real kernel in a namespace pair.
#
# Namespace A (veth-a, 10.77.0.1, fd00:77::1) and B (veth-b, 10.77.0.2); the
# kernel's own `ping` (fixed ICMP id with -e) is the traffic, tcpdump captures
# the same frames at the same time as a second witness, tshark reads both
# files back.  Checks: ifaces against `ip link`/`ip addr`, sniff lines with the
# right ICMP ids and sequence numbers, -w file read back identically by tshark
# and by `umpa show` (nanosecond timestamps), -c, BPF, --direction, counters
# on stderr, SIGINT/SIGTERM mid-capture (and SIGTERM repeated during shutdown), -Z (root cannot be regained), and the
# bad-input errors (one line, exit 1; usage: exit 2).
# Needs root; skips (77) otherwise.  Bounded: every wait has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark tcpdump ping setpriv

. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir live) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair live || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
ID=4660 # ICMP id for ping -e (0x1234)

# chk NAME cmd...: lib.sh's check, returning the command's status (for "|| show ...")
chk() {
	local name=$1
	shift
	if "$@"; then
		check "$name" true
	else
		check "$name" false
		return 1
	fi
}

# wait_for FILE TEXT: until FILE contains TEXT (5 s at most)
wait_for() {
	local i
	for i in $(seq 1 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "    (timed out waiting for '$2' in $1: $(head -c 300 "$1" 2>/dev/null | tr '\n' '|'))"
	return 1
}
# show FILE...: print files for a failed check
show() {
	local f
	for f in "$@"; do echo "    --- $f:"; head -n 20 "$f" | sed 's/^/    /'; done
}
# wait_pid PID SECONDS: wait for a background job, kill it after SECONDS
wait_pid() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || {
			wait "$1"
			return $?
		}
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
	echo "    (pid $1 still running after $2 s: killed)"
	return 124
}

# ---------------------------------------------------------------- ifaces
ip -n "$NS_A" link set "$IF_A" mtu 1400
in_a "$UMPA" ifaces >"$T/if.txt" 2>"$T/if.err"
RC=$?
IDX_A=$(ip -n "$NS_A" -o link show "$IF_A" | awk -F': ' '{print $1}')
chk "ifaces exits 0" [ $RC -eq 0 ]
line=$(grep "^$IF_A " "$T/if.txt")
chk "ifaces lists $IF_A with index $IDX_A, mtu 1400, MAC $MAC_A, 10.77.0.1/24, fd00:77::1/64" \
	bash -c '[[ "$1" =~ ^veth-a\ +$2\ +UP ]] && [[ "$1" == *"mtu 1400 "* ]] && [[ "$1" == *" $3 "* ]] &&
		[[ "$1" == *" 10.77.0.1/24"* ]] && [[ "$1" == *" fd00:77::1/64"* ]]' _ "$line" "$IDX_A" "$MAC_A" ||
	show "$T/if.txt"
chk "ifaces lists lo as LOOPBACK with 127.0.0.1/8" grep -Eq '^lo +[0-9]+ +[A-Z,]*LOOPBACK.* 127\.0\.0\.1/8' "$T/if.txt"
in_a "$UMPA" ifaces --json "$IF_A" >"$T/if.json" 2>"$T/if.err"
chk "ifaces --json $IF_A matches ip link / ip addr" python3 - "$T/if.json" "$MAC_A" "$IDX_A" <<'EOF'
import json, sys
o = json.loads(open(sys.argv[1]).read())
addrs = {(a["family"], a["address"], a["prefix"]) for a in o["addresses"]}
ok = (o["name"] == "veth-a" and o["mac"] == sys.argv[2] and o["index"] == int(sys.argv[3])
      and o["mtu"] == 1400 and "UP" in o["flags"] and o["linktype"] == 1
      and ("inet", "10.77.0.1", 24) in addrs and ("inet6", "fd00:77::1", 64) in addrs)
if not ok:
    print("    got:", o)
sys.exit(0 if ok else 1)
EOF
in_a "$UMPA" ifaces nosuch0 >"$T/out" 2>"$T/err"
RC=$?
chk "ifaces nosuch0: exit 1, one line \"no interface 'nosuch0'\"" \
	bash -c '[ $0 -eq 1 ] && [ "$(wc -l <"$1")" -eq 1 ] && grep -q "no interface '"'"'nosuch0'"'"'" "$1"' $RC "$T/err"

ip -n "$NS_A" link set "$IF_A" mtu 1500

# ---------------------------------------------------------------- sniff sees the kernel's ping
# Three captures at once on A: umpa printing and writing (-w --print), umpa with a
# BPF filter for replies only, and tcpdump writing (the second witness).
in_a "$UMPA" sniff -i "$IF_A" -f icmp -c 8 --nsec --print -w "$T/umpa.pcap" >"$T/lines.txt" 2>"$T/s1.err" &
P1=$!
in_a "$UMPA" sniff -i "$IF_A" -f 'icmp[icmptype] == icmp-echoreply' -c 4 >"$T/replies.txt" 2>"$T/s2.err" &
P2=$!
in_a "$UMPA" sniff -i "$IF_A" --direction in -f icmp -c 4 >"$T/in.txt" 2>"$T/s3.err" &
P3=$!
in_a tcpdump -i "$IF_A" -nn -U -c 8 --time-stamp-precision=nano -w "$T/tcpdump.pcap" icmp 2>"$T/td.err" &
P4=$!
wait_for "$T/s1.err" "sniffing on" && wait_for "$T/s2.err" "sniffing on" && wait_for "$T/s3.err" "sniffing on" &&
	wait_for "$T/td.err" "listening on"
in_a ping -e $ID -c 4 -i 0.05 -W 1 "$IP_B" >"$T/ping.txt" 2>&1
wait_pid $P1 10
RC1=$?
wait_pid $P2 10
RC2=$?
wait_pid $P3 10
RC3=$?
wait_pid $P4 10

chk "ping from A to B got 4 replies" grep -q "4 received" "$T/ping.txt"
chk "sniff -c 8 exits 0 by itself" [ $RC1 -eq 0 ]
chk "sniff printed 8 lines" [ "$(wc -l <"$T/lines.txt")" -eq 8 ] || show "$T/lines.txt" "$T/s1.err"
ok_lines=1
for seq in 1 2 3 4; do
	grep -q "10\.77\.0\.1 > 10\.77\.0\.2: ICMP echo request, id $ID, seq $seq," "$T/lines.txt" || ok_lines=0
	grep -q "10\.77\.0\.2 > 10\.77\.0\.1: ICMP echo reply, id $ID, seq $seq," "$T/lines.txt" || ok_lines=0
done
chk "sniff saw echo request and reply, id $ID, seq 1..4, right addresses" [ $ok_lines -eq 1 ] ||
	show "$T/lines.txt"
chk "sniff lines carry nanosecond times (HH:MM:SS.nnnnnnnnn)" \
	bash -c '[ "$(grep -cE "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} " "$1")" -eq 8 ]' _ "$T/lines.txt"
chk "sniff counts on stderr: 8 packets captured, dropped counters printed" \
	grep -Eq '^8 packets captured, [0-9]+ received by filter, [0-9]+ dropped by kernel, [0-9]+ dropped by interface$' \
	"$T/s1.err" || show "$T/s1.err"

# the file: tshark reads it; same fields as tcpdump's file; umpa show prints the same lines
# one tshark pass per file: the time (checked apart) and the dissected fields
FIELDS=(-T fields -e frame.time_epoch -e frame.len -e frame.cap_len -e eth.src -e eth.dst -e ip.src -e ip.dst -e ip.id
	-e ip.ttl -e icmp.type -e icmp.ident -e icmp.seq -e icmp.checksum -e data.data)
tshark -r "$T/umpa.pcap" "${FIELDS[@]}" >"$T/umpa.tsv" 2>"$T/tshark.err"
RC=$?
cut -f2- "$T/umpa.tsv" >"$T/umpa.fields"
cut -f1 "$T/umpa.tsv" >"$T/umpa.ts"
chk "tshark reads umpa's file without complaint (8 frames)" \
	bash -c '[ $0 -eq 0 ] && ! grep -qv "^Running as user" "$1" && [ "$(wc -l <"$2")" -eq 8 ]' $RC "$T/tshark.err" "$T/umpa.fields" ||
	show "$T/tshark.err"
tshark -r "$T/tcpdump.pcap" "${FIELDS[@]}" 2>/dev/null | cut -f2- >"$T/tcpdump.fields"
chk "tshark: umpa's file has the same frames as tcpdump's capture of the same ping" \
	cmp -s "$T/umpa.fields" "$T/tcpdump.fields" || diff "$T/umpa.fields" "$T/tcpdump.fields" | head -20
chk "byte-identical frames and original lengths in both files" python3 - "$T/umpa.pcap" "$T/tcpdump.pcap" <<'EOF'
import struct, sys
def frames(path):
    d = open(path, "rb").read()
    end = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, out = 24, []
    while off + 16 <= len(d):
        _, _, incl, orig = struct.unpack(end + "IIII", d[off:off + 16])
        out.append((orig, d[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out
a, b = frames(sys.argv[1]), frames(sys.argv[2])
sys.exit(0 if a == b and len(a) == 8 else 1)
EOF
chk "the file has the nanosecond pcap magic (a1b23c4d)" \
	bash -c '[ "$(od -An -tx4 -N4 "$0" | tr -d " ")" = a1b23c4d ]' "$T/umpa.pcap"
chk "tshark reads nanosecond timestamps (9 digits, not all multiples of 1000 ns)" \
	bash -c '[ "$(grep -cE "\.[0-9]{9}$" "$0")" -eq 8 ] && grep -qvE "000$" "$0"' "$T/umpa.ts" || show "$T/umpa.ts"
"$UMPA" show --nsec "$T/umpa.pcap" >"$T/show.txt" 2>&1
chk "umpa show --nsec of the file prints exactly what sniff printed live" cmp -s "$T/show.txt" "$T/lines.txt" ||
	diff "$T/show.txt" "$T/lines.txt" | head

# BPF filter and direction
chk "-f 'icmp[icmptype] == icmp-echoreply' -c 4: 4 lines, all replies, exit 0" \
	bash -c '[ $0 -eq 0 ] && [ "$(wc -l <"$1")" -eq 4 ] && [ "$(grep -c "ICMP echo reply, id '$ID'" "$1")" -eq 4 ]' \
	$RC2 "$T/replies.txt" || show "$T/replies.txt" "$T/s2.err"
chk "--direction in: only the replies coming in to A (4), no requests" \
	bash -c '[ $0 -eq 0 ] && [ "$(grep -c "ICMP echo reply" "$1")" -eq 4 ] && ! grep -q "echo request" "$1"' \
	$RC3 "$T/in.txt" || show "$T/in.txt" "$T/s3.err"

# ---------------------------------------------------------------- -c stops while traffic goes on
in_a "$UMPA" sniff -i "$IF_A" -f icmp -c 2 --json >"$T/c2.txt" 2>"$T/c2.err" &
P1=$!
wait_for "$T/c2.err" "sniffing on"
in_a ping -e $ID -c 20 -i 0.1 -W 1 "$IP_B" >/dev/null 2>&1 &
PP=$!
wait_pid $P1 5
RC=$?
still_pinging=0
kill -0 $PP 2>/dev/null && still_pinging=1
chk "-c 2 stops after 2 packets while ping goes on (exit 0, 2 JSON lines)" \
	bash -c '[ $0 -eq 0 ] && [ $1 -eq 1 ] && [ "$(wc -l <"$2")" -eq 2 ] &&
		python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$2"' $RC $still_pinging "$T/c2.txt" ||
	show "$T/c2.txt" "$T/c2.err"
wait_pid $PP 5 >/dev/null

# ---------------------------------------------------------------- SIGINT / SIGTERM mid-capture
# SIGINT: pcap; SIGTERM: pcapng with --snaplen 60 (ICMP frames of 98 bytes kept as 60); TERMS: SIGTERM
# again and again until umpa is gone (timeout(1) sends two): the repeats during shutdown (files being
# closed, exit handlers) are ignored, the status stays 0 and the file complete
for sig in INT TERM TERMS; do
	extra=()
	[ $sig = TERM ] && extra=(--pcapng --snaplen 60)
	ip netns exec "$NS_A" "$UMPA" sniff -i "$IF_A" -w "$T/sig.cap" "${extra[@]}" >"$T/sig.out" 2>"$T/sig.err" &
	P1=$!
	wait_for "$T/sig.err" "sniffing on"
	in_a ping -e $ID -c 5 -i 0.05 -W 1 "$IP_B" >/dev/null 2>&1
	kill -${sig%S} $P1
	if [ $sig = TERMS ]; then
		for _ in $(seq 1 3000); do
			kill -TERM $P1 2>/dev/null || break
		done
	fi
	wait_pid $P1 5
	RC=$?
	n=$(sed -nE 's/^(interrupted|terminated): ([0-9]+) packets captured.*/\2/p' "$T/sig.err")
	tshark -r "$T/sig.cap" -T fields -e frame.number -e icmp.ident -e frame.cap_len -e frame.len >"$T/sig.tsv" 2>"$T/tshark.err"
	nf=$(wc -l <"$T/sig.tsv")
	ne=$(awk -F'\t' -v id=$ID '$2 == id' "$T/sig.tsv" | wc -l)
	chk "SIG$sig mid-capture: exit 0, counts printed, valid file with every counted packet ($n counted, $nf in the file, $ne ICMP)" \
		bash -c '[ $0 -eq 0 ] && [ -n "$1" ] && [ "$1" = "$2" ] && [ "$3" -ge 10 ] && ! grep -qv "^Running as user" "$4"' \
		$RC "$n" "$nf" "$ne" "$T/tshark.err" || show "$T/sig.err" "$T/tshark.err"
	if [ $sig = TERM ]; then
		chk "--pcapng writes pcapng (0a0d0d0a); --snaplen 60 keeps 60 of the 98 bytes of each ICMP frame" \
			bash -c '[ "$(od -An -tx1 -N4 "$0" | tr -d " ")" = 0a0d0d0a ] &&
				[ "$(awk -F"\t" -v id=$2 "\$2 == id && \$3 == 60 && \$4 == 98" "$1" | wc -l)" -eq "$3" ]' \
			"$T/sig.cap" "$T/sig.tsv" $ID "$ne" || show "$T/sig.tsv"
	fi
done

# ---------------------------------------------------------------- --timeout with no traffic
start=$(date +%s%N)
in_a "$UMPA" sniff -i "$IF_A" -f "udp port 9" --timeout 0.5 >"$T/to.out" 2>"$T/to.err"
RC=$?
ms=$((($(date +%s%N) - start) / 1000000))
chk "--timeout 0.5 with nothing to capture: exit 0 after ${ms} ms, 0 packets captured" \
	bash -c '[ $0 -eq 0 ] && [ $1 -ge 500 ] && [ $1 -lt 5000 ] && grep -q "^0 packets captured" "$2" && [ ! -s "$3" ]' \
	$RC $ms "$T/to.err" "$T/to.out" || show "$T/to.err"

# ---------------------------------------------------------------- -Z drops privileges for good
in_a "$UMPA" sniff -i "$IF_A" -f icmp -c 2 -Z nobody --selftest-setuid >"$T/z.txt" 2>"$T/z.err" &
P1=$!
wait_for "$T/z.err" "sniffing on"
in_a ping -e $ID -c 2 -i 0.05 -W 1 "$IP_B" >/dev/null 2>&1
wait_pid $P1 5
RC=$?
NOBODY=$(id -u nobody)
chk "-Z nobody: uid/euid $NOBODY, setuid(0) fails (EPERM), capture still works (2 lines)" \
	bash -c '[ $0 -eq 0 ] && grep -q "^selftest: uid=$1 euid=$1 setuid(0)=-1 Operation not permitted$" "$2" &&
		[ "$(wc -l <"$3")" -eq 2 ]' $RC "$NOBODY" "$T/z.err" "$T/z.txt" || show "$T/z.err" "$T/z.txt"
in_a "$UMPA" sniff -i "$IF_A" -c 1 -Z no-such-user-umpa >"$T/out" 2>"$T/err"
chk "-Z no-such-user: exit 1, \"no user\"" \
	bash -c '[ $0 -eq 1 ] && grep -q "no user '"'"'no-such-user-umpa'"'"'" "$1"' $? "$T/err"

# ---------------------------------------------------------------- bad input
# expect_err NAME CODE PATTERN cmd...: exit CODE and exactly one stderr line matching PATTERN
expect_err() {
	local name=$1 code=$2 pat=$3 rc
	shift 3
	[ "$1" = in_a ] && { shift; set -- ip netns exec "$NS_A" "$@"; }
	timeout 10 "$@" >"$T/out" 2>"$T/err"
	rc=$?
	chk "$name: exit $code, one line matching '$pat'" \
		bash -c '[ $0 -eq $1 ] && [ "$(wc -l <"$2")" -eq 1 ] && grep -Eq "$3" "$2"' $rc "$code" "$T/err" "$pat" ||
		show "$T/err"
}
expect_err "unknown interface" 1 "^umpa: sniff: no interface 'nosuch0'$" in_a "$UMPA" sniff -i nosuch0 -c 1
expect_err "BPF that does not compile" 1 "^umpa: sniff: bad filter 'tcp port': .+" \
	in_a "$UMPA" sniff -i "$IF_A" -f "tcp port" -c 1
expect_err "no permission (as nobody)" 1 "^umpa: sniff: veth-a: permission denied" \
	in_a setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$UMPA" sniff -i "$IF_A" -c 1
expect_err "missing -i" 2 "^umpa: sniff: which interface\?" "$UMPA" sniff -c 1
expect_err "bad --direction" 2 "^umpa: sniff: --direction must be in, out or inout" \
	"$UMPA" sniff -i lo --direction sideways
expect_err "bad -c" 2 "^umpa: -c: 'many' is not a number \\(a count: 0 to 1000000000000\\)$" "$UMPA" sniff -i lo -c many
expect_err "unwritable -w" 1 "^umpa: sniff: .*/nodir/x.pcap" in_a "$UMPA" sniff -i "$IF_A" -c 1 -w "$T/nodir/x.pcap"

finish
