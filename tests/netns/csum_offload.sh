#!/usr/bin/env bash
# csum_offload.sh - TCP and UDP checksums captured on a veth with checksum
# offload on are "unverified", not bad (as tshark says), unless
# --verify-checksums.
#
# Namespace A (veth-a, 10.77.0.1) and B (veth-b, 10.77.0.2), tx/rx checksum
# offload on (veth's default, set explicitly): a real TCP connection (socat in
# both namespaces) and a UDP datagram.  Linux leaves the checksums of these
# packets for the NIC (CHECKSUM_PARTIAL: the field holds the pseudo-header
# sum), so the captured bytes do not verify: tshark with checksum checks on
# calls every one of them bad - the witness that offload really happened.
# Checks:
#   - `umpa sniff` (live) marks none bad; its JSON says each TCP/UDP checksum
#     is unverified (live capture);
#   - `umpa sniff --verify-checksums` marks them bad, as tshark does;
#   - `umpa show` of the written file: none bad, each unverified (partial);
#     `umpa show --verify-checksums`: bad on exactly the frames tshark calls bad;
#   - a checksum that is simply wrong (built with one) is still bad in `show`.
# Needs root, tshark, socat, ethtool; skips (77) otherwise.  Bounded: every
# wait has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark socat ethtool python3
. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir csum_offload) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
netns_pair csum || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
in_a ethtool -K veth-a tx on rx on >/dev/null 2>&1
in_b ethtool -K veth-b tx on rx on >/dev/null 2>&1
FLT='portrange 8080-8099'

# capture one TCP connection and one datagram with: sniff ARGS... (printing to $T/out.N)
run=0
capture() {
	run=$((run + 1))
	local tp=$((8070 + 10 * run)) up=$((8071 + 10 * run)) # ports of their own per run
	in_b timeout 15 socat -u TCP-LISTEN:$tp,bind=10.77.0.2,reuseaddr OPEN:/dev/null &
	local lsn=$!
	in_b timeout 15 socat -u UDP-RECV:$up,bind=10.77.0.2 OPEN:/dev/null &
	local udp=$!
	in_a timeout 20 "$UMPA" sniff -i veth-a --immediate -c 9 --timeout 15 -w "$T/cap.$run.pcap" --print \
		"$@" "$FLT" >"$T/out.$run" 2>"$T/err.$run" &
	local snf=$!
	# wait (bounded) until the capture and the listener are up
	for _ in $(seq 1 100); do
		grep -q "sniffing on" "$T/err.$run" 2>/dev/null && in_b ss -ltn 2>/dev/null | grep -q ":$tp" && break
		sleep 0.05
	done
	echo hello | in_a timeout 5 socat -u - TCP:10.77.0.2:$tp
	echo hi | in_a timeout 5 socat -u - UDP:10.77.0.2:$up
	wait "$snf"
	kill "$lsn" "$udp" 2>/dev/null
	wait "$lsn" "$udp" 2>/dev/null
}

# frames tshark calls bad (TCP or UDP checksum status 0), as "1 2 3"
ws_bad() {
	tshark -r "$1" -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -T fields -e frame.number \
		-Y 'tcp.checksum.status == 0 || udp.checksum.status == 0' 2>/dev/null | tr '\n' ' '
}
# frames umpa marks bad in JSON ($@: umpa show options), as "1 2 3"
u_frames() {
	python3 -c '
import json, sys
key = sys.argv[1]
out = []
for l in sys.stdin:
    o = json.loads(l)
    if any(key in lay for lay in o["layers"] if lay["_layer"] in ("tcp", "udp")):
        out.append(str(o["frame.number"]))
print(" ".join(out), end=" ")' "$1"
}

capture --json
F=$T/cap.1.pcap
bad=$(ws_bad "$F")
n=$(wc -l <"$T/out.1")
check "9 packets captured (TCP connection and UDP datagram)" [ "$n" -eq 9 ]
check "offload is on: tshark calls the captured TCP/UDP checksums bad ($bad)" [ "$(echo $bad | wc -w)" -ge 8 ]
check "sniff (live): no checksum called bad" [ "$(u_frames _bad_checksum <"$T/out.1")" = " " ]
unv=$(u_frames _checksum_unverified <"$T/out.1")
check "sniff (live): every TCP/UDP checksum unverified ($unv)" [ "$(echo $unv | wc -w)" -eq 9 ]
grep -q '"_checksum_unverified":"live capture' "$T/out.1"
check "sniff --json says why: live capture" [ $? -eq 0 ]

capture --verify-checksums
check "sniff --verify-checksums: [bad ... checksum] where tshark says bad" \
	[ "$(grep -c '\[bad \(tcp\|udp\) checksum\]' "$T/out.2")" -eq "$(echo $bad | wc -w)" ]

"$UMPA" show "$F" >"$T/show" 2>&1
check "show FILE: no checksum called bad" [ "$(grep -c '\[bad' "$T/show")" -eq 0 ]
"$UMPA" show -v "$F" | grep -c 'checksum unverified: partial' >"$T/n"
check "show -v FILE: the partial sums are unverified ($(cat "$T/n"))" [ "$(cat "$T/n")" -eq "$(echo $bad | wc -w)" ]
got=$("$UMPA" show --json "$F" | u_frames _checksum_unverified)
check "show --json FILE: unverified on the frames tshark calls bad ($got)" [ "$got" = "$bad" ]
got=$("$UMPA" show --json --verify-checksums "$F" | u_frames _bad_checksum)
check "show --verify-checksums FILE: bad on exactly tshark's frames ($got)" [ "$got" = "$bad" ]

# a checksum that is just wrong stays bad
"$UMPA" build -w "$T/lie.pcap" 'ether{}/ip{src="10.77.0.1", dst="10.77.0.2"}/tcp{dport=8090, chksum=0x1234}' 2>/dev/null
check "show: a wrong (not partial) checksum is still bad" \
	grep -q '\[bad tcp checksum\]' <("$UMPA" show "$T/lie.pcap")
finish
