# tests/bench/bench_lib.sh - the peers and relays the loopback proxy benches share (sourced by
# bench_proxy.sh, bench_toxi.sh, bench_mitm.sh).  Needs UMPA set.
#   bench_init NAME TOOL...   exit 77 when a TOOL is missing; scratch directory $T; the PIDS array is
#                             killed and $T removed at exit
#   freeport                  a free TCP port on 127.0.0.1
#   wait_port PORT            until something listens on 127.0.0.1:PORT (at most 10 s)
#   start_iperf               iperf3 -s on 127.0.0.1:$IPORT
#   iperf_gbit PORT SECONDS   Gbit/s of one iperf3 stream through PORT (received; retried while
#                             iperf3 -s still answers "busy" for the previous test)
#   relay NAME TARGETPORT     start relay NAME (umpa, umpa-api, socat, haproxy) from 127.0.0.1:$LP to
#                             127.0.0.1:TARGETPORT; $RP its process (0: a proxy of the API at $API,
#                             which start_api started); unrelay TARGETPORT stops it
#   start_api                 umpa proxy --api on 127.0.0.1 ($API), for relay umpa-api

bench_init() {
	local name=$1 t
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || {
			echo "$name: $t is missing"
			exit 77
		}
	done
	T=$(mktemp -d) || exit 1
	PIDS=()
	trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	return 1
}
start_iperf() {
	IPORT=$(freeport)
	iperf3 -s -B 127.0.0.1 -p $IPORT >/dev/null 2>&1 &
	PIDS+=($!)
	wait_port $IPORT
}
iperf_gbit() {
	local try g
	for try in 1 2 3; do
		g=$(iperf3 -c 127.0.0.1 -p $1 -t $2 -J 2>/dev/null |
			python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9, 2))' 2>/dev/null)
		[ -n "$g" ] && break
		sleep 1
	done
	echo "$g"
}
start_api() {
	API=127.0.0.1:$(freeport)
	"$UMPA" proxy --api $API 2>/dev/null &
	PIDS+=($!)
	for ((i = 0; i < 100; i++)); do curl -s -o /dev/null "http://$API/version" && break; sleep 0.1; done
}
relay() {
	local name=$1 tp=$2
	LP=$(freeport)
	RP=0
	case $name in
	umpa-api)
		curl -s -X POST "http://$API/proxies" \
			--data "{\"name\":\"b$tp\",\"listen\":\"127.0.0.1:$LP\",\"upstream\":\"127.0.0.1:$tp\"}" >"$T/post.out"
		grep -q '"listen"' "$T/post.out" || echo "bench: POST /proxies: $(cat "$T/post.out")" >&2
		return ;;
	umpa) "$UMPA" proxy -l 127.0.0.1:$LP -t 127.0.0.1:$tp 2>/dev/null & ;;
	socat) socat TCP-LISTEN:$LP,bind=127.0.0.1,fork,reuseaddr,backlog=1024 TCP:127.0.0.1:$tp 2>/dev/null & ;;
	haproxy)
		printf 'global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nlisten b\n  bind 127.0.0.1:%s\n  server s 127.0.0.1:%s\n' $LP $tp >"$T/h.cfg"
		haproxy -f "$T/h.cfg" -db 2>/dev/null & ;;
	esac
	RP=$!
	wait_port $LP
}
unrelay() {
	if [ "$RP" = 0 ]; then
		curl -s -X DELETE "http://$API/proxies/b$1" >/dev/null
	else
		kill $RP
		wait $RP 2>/dev/null
	fi
}
