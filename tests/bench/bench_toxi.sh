#!/usr/bin/env bash
# bench_toxi.sh - a proxy made over `umpa proxy --api` (Toxiproxy API, no toxics: the toxic hooks run
# on every chunk) against `umpa proxy -l -t`, socat and haproxy, same run, same machine, loopback:
#   throughput: iperf3 -t SECONDS through each relay (one stream), Gbit/s
#   added latency: median round trip of 2000 one-byte ping-pongs through the relay minus the same
#   straight to the echo server, microseconds (python3 client: its cost is in both)
# Prints each figure and the API proxy's ratios to socat.  Not a test: nothing fails for being slow.
# Usage: tests/bench/bench_toxi.sh [UMPA] [SECONDS]
set -uo pipefail
UMPA=${1:-./umpa}
S=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_init bench_toxi iperf3 socat haproxy python3 curl
start_iperf
python3 "$here/../proxy/toxi_peer.py" serve "$T/peer.port" 3600 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$T/peer.port" ] && break; sleep 0.1; done
read -r EPORT _ <"$T/peer.port"
cat >"$T/rtt.py" <<'PY'
import socket, statistics, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
out = []
for i in range(2000):
    t0 = time.perf_counter_ns()
    s.sendall(b"x")
    if s.recv(1) != b"x":
        raise SystemExit("bad echo")
    out.append(time.perf_counter_ns() - t0)
print("%.1f" % (statistics.median(out) / 1000))
PY
start_api
declare -A GB LAT
for name in umpa-api umpa socat haproxy; do
	relay $name $IPORT
	GB[$name]=$(iperf_gbit $LP $S)
	unrelay $IPORT
	relay $name $EPORT
	# the direct round trip right before, so a change of load on the machine hits both alike
	LAT[$name]=$(awk -v d="$(python3 "$T/rtt.py" $EPORT)" -v a="$(python3 "$T/rtt.py" $LP)" 'BEGIN { printf "%.1f", a - d }')
	unrelay $EPORT
	printf '%-9s throughput %6s Gbit/s   added latency %7s us\n' $name "${GB[$name]}" "${LAT[$name]}"
done
awk -v ga="${GB[umpa-api]}" -v gs="${GB[socat]}" -v gh="${GB[haproxy]}" -v la="${LAT[umpa-api]}" -v ls="${LAT[socat]}" \
	-v lh="${LAT[haproxy]}" 'BEGIN {
	printf "umpa-api/socat: throughput %.2f, added latency %.2f\n", gs ? ga / gs : 0, ls ? la / ls : 0
	printf "umpa-api/haproxy: throughput %.2f, added latency %.2f\n", gh ? ga / gh : 0, lh ? la / lh : 0 }'
