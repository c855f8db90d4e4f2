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
for t in iperf3 socat haproxy python3 curl jq; do
	command -v $t >/dev/null || { echo "bench_toxi: $t is missing"; exit 77; }
done
T=$(mktemp -d) || exit 1
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IPORT=$(freeport)
iperf3 -s -B 127.0.0.1 -p $IPORT >/dev/null 2>&1 &
PIDS+=($!)
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
API=127.0.0.1:$(freeport)
"$UMPA" proxy --api $API 2>/dev/null &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do curl -s -o /dev/null "http://$API/version" && break; sleep 0.1; done
# relay NAME TARGETPORT -> LISTEN port in $LP, process in $RP (0: the API's proxy)
relay() {
	local name=$1 tp=$2
	LP=$(freeport)
	RP=0
	case $name in
	umpa-api)
		curl -s -X POST "http://$API/proxies" \
			--data "{\"name\":\"b$tp\",\"listen\":\"127.0.0.1:$LP\",\"upstream\":\"127.0.0.1:$tp\"}" >"$T/post.out"
		grep -q '"listen"' "$T/post.out" || echo "bench_toxi: POST /proxies: $(cat "$T/post.out")" >&2
		return ;;
	umpa) "$UMPA" proxy -l 127.0.0.1:$LP -t 127.0.0.1:$tp 2>/dev/null & ;;
	socat) socat TCP-LISTEN:$LP,bind=127.0.0.1,fork,reuseaddr,backlog=1024 TCP:127.0.0.1:$tp & ;;
	haproxy)
		printf 'global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nlisten b\n  bind 127.0.0.1:%s\n  server s 127.0.0.1:%s\n' $LP $tp >"$T/h.cfg"
		haproxy -f "$T/h.cfg" -db 2>/dev/null & ;;
	esac
	RP=$!
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Hltn "sport = :$LP")" ] && break
		sleep 0.1
	done
}
unrelay() {
	if [ "$RP" = 0 ]; then
		curl -s -X DELETE "http://$API/proxies/b$1" >/dev/null
	else
		kill $RP
		wait $RP 2>/dev/null
	fi
}
declare -A GB LAT
for name in umpa-api umpa socat haproxy; do
	relay $name $IPORT
	for try in 1 2 3; do # iperf3 -s answers "busy" while it closes the last test
		GB[$name]=$(iperf3 -c 127.0.0.1 -p $LP -t $S -J 2>/dev/null | jq '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' 2>/dev/null)
		[ -n "${GB[$name]}" ] && break
		sleep 1
	done
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
