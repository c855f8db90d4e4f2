#!/usr/bin/env bash
# bench.sh - umpa against its peers on the same work in the same run; prints ratios.
# Benchmarks are not tests: nothing fails for being slow.
#   UMPA=path/to/umpa  BUILD_N (packets umpa builds, default 1000000)
#   SCAPY_N (packets Scapy builds, default 20000)  MIX_K (show capture = 20*MIX_K packets, default 50000)
#   TSHARK_K (tshark reads a 20*TSHARK_K-packet prefix-equivalent file, default 5000)
set -euo pipefail
cd "$(dirname "$0")/../.."
UMPA=${UMPA:-build/umpa}
BUILD_N=${BUILD_N:-1000000}
SCAPY_N=${SCAPY_N:-20000}
MIX_K=${MIX_K:-50000}
TSHARK_K=${TSHARK_K:-5000}
T=$(mktemp -d /tmp/umpa-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%F)"
echo
echo "== build: Ether/IP/UDP/payload packets, one field changing per packet, into a pcap"
t0=$(now)
# sport x dport: BUILD_N packets (a 16-bit field alone cannot count to a million)
"$UMPA" build -w "$T/u.pcap" "ether{}/ip{src=\"10.0.0.1\", dst=\"10.0.0.2\"}/udp{sport=range(1,$((BUILD_N / 20))), dport=range(53,72)}/\"payload!\""
t1=$(now)
u=$(rate "$BUILD_N" "$t0" "$t1")
s=$(/usr/bin/python3 tests/bench/scapy_build.py "$SCAPY_N" "$T/s.pcap" 2>/dev/null)
echo "umpa build : $u packets/s ($BUILD_N packets)"
echo "scapy      : $s packets/s ($SCAPY_N packets)"
echo "ratio      : $(ratio "$u" "$s")x  (goal >= 1000x)"
echo

echo "== show: one line per packet over a mixed capture (UDP, DNS, TCP with payloads, ICMP, ARP, IPv6, VLAN)"
"$UMPA" build -w "$T/mix.pcap" -f <(echo "K = $MIX_K"; cat tests/bench/mkmix.lua) 2>/dev/null
n=$("$UMPA" show "$T/mix.pcap" | wc -l)
t0=$(now); "$UMPA" show "$T/mix.pcap" >/dev/null; t1=$(now)
u=$(rate "$n" "$t0" "$t1")
t0=$(now); TZ=UTC tcpdump -nn -r "$T/mix.pcap" >/dev/null 2>&1; t1=$(now)
d=$(rate "$n" "$t0" "$t1")
"$UMPA" build -w "$T/mixs.pcap" -f <(echo "K = $TSHARK_K"; cat tests/bench/mkmix.lua) 2>/dev/null
ns=$("$UMPA" show "$T/mixs.pcap" | wc -l)
t0=$(now); tshark -r "$T/mixs.pcap" >/dev/null 2>&1; t1=$(now)
k=$(rate "$ns" "$t0" "$t1")
echo "umpa show  : $u packets/s ($n packets)"
echo "tcpdump -nn: $d packets/s (TZ=UTC)"
echo "tshark -r  : $k packets/s ($ns packets)"
echo "ratio vs tcpdump: $(ratio "$u" "$d")x  (goal >= 2x)"
echo "ratio vs tshark : $(ratio "$u" "$k")x  (goal >= 10x)"
