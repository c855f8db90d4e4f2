#!/usr/bin/env bash
# bench_capture.sh - capture loss at trafgen's top speed: umpa sniff -w vs tcpdump -w.
#
# In a namespace pair (tests/netns/lib.sh), trafgen (netsniff-ng) blasts
# 60-byte Ethernet/IPv4/UDP frames from B to A for SECS seconds while one
# capture runs on A writing to a file in /dev/shm: first `umpa sniff -w`,
# then `tcpdump -w`, same load, same run, same kernel buffer (libpcap's
# default 2 MiB unless BUFFER_KIB is set).  Each capture is stopped with
# SIGINT; it reports captured and dropped (pcap_stats) itself.  Sent is
# trafgen's side of the veth (TX counter of veth-b); frames the kernel did
# not deliver to the packet socket at all show as a gap between A's RX
# counter and received-by-filter.  Benchmarks are not tests: nothing fails
# for being slow; the script fails only when a tool is broken.
#
#   sudo UMPA=build/umpa SECS=5 bash tests/bench/bench_capture.sh
# Needs root, trafgen, tcpdump, capinfos.  Bounded: ~2 x (SECS + 3) s.
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
UMPA=${UMPA:-$top_srcdir/build/umpa}
SECS=${SECS:-5}
BUFFER_KIB=${BUFFER_KIB:-}
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
for t in trafgen tcpdump capinfos; do
	command -v $t >/dev/null || {
		echo "SKIP: $t missing (tests/deps.sh installs netsniff-ng, tcpdump, tshark)"
		exit 77
	}
done
[ -x "$UMPA" ] || {
	echo "bench_capture: no umpa at $UMPA"
	exit 1
}

D=$(mktemp -d /dev/shm/umpa-bench-cap.XXXXXX) || exit 1
cleanup() {
	netns_cleanup
	rm -rf "$D"
}
netns_pair bcap || exit 1
trap cleanup EXIT

# 60 bytes: Ethernet (14) + IPv4 (20) + UDP (8) + 18 bytes of payload
cat >"$D/udp.cfg" <<EOF
{
  eth(da=$MAC_A, sa=$MAC_B),
  ipv4(sa=$IP_B, da=$IP_A, ttl=64),
  udp(sp=4321, dp=9),
  fill(0x41, 18)
}
EOF

counter() { # NS IF rx|tx -> packets
	ip -n "$1" -s -j link show "$2" | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$3']['packets'])"
}

# run NAME CMD...: one capture under load; sets R_* for the table
run() {
	local name=$1 pid tx0 tx1 rx0 rx1 i
	shift
	"$@" 2>"$D/$name.err" &
	pid=$!
	for i in $(seq 1 100); do
		grep -qE "sniffing on|listening on" "$D/$name.err" && break
		sleep 0.05
	done
	sleep 0.3
	tx0=$(counter "$NS_B" "$IF_B" tx)
	rx0=$(counter "$NS_A" "$IF_A" rx)
	# --no-sock-mem --notouch-irq: leave the host's socket memory and IRQ affinity alone; one CPU
	timeout -s INT $((SECS + 2)) ip netns exec "$NS_B" trafgen --no-sock-mem --notouch-irq -C -P 1 -o "$IF_B" -i "$D/udp.cfg" \
		>"$D/$name.trafgen" 2>&1 &
	local tg=$!
	sleep "$SECS"
	kill -INT $tg 2>/dev/null
	wait $tg 2>/dev/null
	sleep 0.3
	tx1=$(counter "$NS_B" "$IF_B" tx)
	rx1=$(counter "$NS_A" "$IF_A" rx)
	kill -INT $pid
	for i in $(seq 1 100); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	R_SENT=$((tx1 - tx0))
	R_RX=$((rx1 - rx0))
	R_FILE=$(capinfos -M -c -T "$D/$name.pcap" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
	# "N packets captured, M received by filter, K (packets) dropped by kernel"
	R_CAPT=$(grep -oE '^[a-z: ]*[0-9]+ packets captured' "$D/$name.err" | grep -oE '[0-9]+')
	R_RECV=$(grep -oE '[0-9]+ packets? received by filter|[0-9]+ received by filter' "$D/$name.err" | grep -oE '^[0-9]+')
	R_DROP=$(grep -oE '[0-9]+ (packets )?dropped by kernel' "$D/$name.err" | grep -oE '^[0-9]+')
	rm -f "$D/$name.pcap"
}

BUF_UMPA=()
BUF_TCPD=()
if [ -n "$BUFFER_KIB" ]; then
	BUF_UMPA=(--buffer-size "$BUFFER_KIB")
	BUF_TCPD=(-B "$BUFFER_KIB")
fi

echo "capture of 60-byte UDP frames at trafgen's top speed for ${SECS} s (veth, buffer ${BUFFER_KIB:-libpcap default} KiB)"
run umpa ip netns exec "$NS_A" "$UMPA" sniff -i "$IF_A" -w "$D/umpa.pcap" "${BUF_UMPA[@]}"
U=("$R_SENT" "$R_RX" "$R_RECV" "$R_CAPT" "$R_DROP" "$R_FILE")
run tcpdump ip netns exec "$NS_A" tcpdump -i "$IF_A" -nn -w "$D/tcpdump.pcap" "${BUF_TCPD[@]}"
P=("$R_SENT" "$R_RX" "$R_RECV" "$R_CAPT" "$R_DROP" "$R_FILE")

bad=0
for v in "${U[@]}" "${P[@]}"; do [[ "$v" =~ ^[0-9]+$ ]] || bad=1; done
if [ $bad -ne 0 ]; then
	echo "bench_capture: could not read the counters: umpa (${U[*]}) tcpdump (${P[*]})"
	tail -n 3 "$D/umpa.err" "$D/tcpdump.err" "$D/umpa.trafgen"
	exit 1
fi
printf '\n%-8s %12s %12s %12s %12s %12s %12s %10s %10s\n' tool sent "A rx" "recv(filt)" captured dropped "in file" "capt/sent" "pkt/s"
for t in umpa tcpdump; do
	if [ $t = umpa ]; then v=("${U[@]}"); else v=("${P[@]}"); fi
	printf '%-8s %12d %12d %12d %12d %12d %12d %9.1f%% %10.0f\n' $t "${v[0]}" "${v[1]}" "${v[2]}" "${v[3]}" "${v[4]}" \
		"${v[5]}" "$(echo "${v[3]} ${v[0]}" | awk '{print $2 ? 100 * $1 / $2 : 0}')" \
		"$(echo "${v[3]} $SECS" | awk '{print $1 / $2}')"
done
awk -v uc="${U[3]}" -v us="${U[0]}" -v pc="${P[3]}" -v ps="${P[0]}" 'BEGIN {
	ur = us ? uc / us : 0; pr = ps ? pc / ps : 0
	printf "\ncaptured share: umpa %.1f%%, tcpdump %.1f%%; ratio umpa/tcpdump %.2fx\n", 100 * ur, 100 * pr, pr ? ur / pr : 0 }'
# every packet umpa counted is in its file (the file is complete after SIGINT)
[ "${U[3]}" = "${U[5]}" ] || {
	echo "bench_capture: umpa counted ${U[3]} packets but its file holds ${U[5]}"
	exit 1
}
exit 0
