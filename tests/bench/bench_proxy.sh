#!/usr/bin/env bash
# bench_proxy.sh - `umpa proxy` (plain relay) against socat and haproxy, same run, same machine, loopback:
#   throughput: iperf3 -t SECONDS through each relay (one stream), Gbit/s
#   connections/s: python3 asyncio clients (32 at once) each connecting, sending 1 byte to an echo
#   server, reading it back and closing, for SECONDS (the client is part of the cost: ratios matter)
# Prints each figure and umpa's ratios.  Not a test: nothing fails for being slow.
# Usage: tests/bench/bench_proxy.sh [UMPA] [SECONDS]
set -uo pipefail
UMPA=${1:-./umpa}
S=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_init bench_proxy iperf3 socat haproxy python3
start_iperf
python3 "$here/../proxy/peer.py" echo "$T/echo.port" 3600 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$T/echo.port" ] && break; sleep 0.1; done
EPORT=$(cat "$T/echo.port")
cat >"$T/cps.py" <<'PY'
import asyncio, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
async def worker(end, n):
    while time.monotonic() < end:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"x"); await w.drain()
        if await r.read(1) != b"x": raise SystemExit("bad echo")
        w.close(); await w.wait_closed()
        n[0] += 1
async def main():
    n = [0]; end = time.monotonic() + secs
    await asyncio.gather(*(worker(end, n) for _ in range(32)))
    print(round(n[0] / secs))
asyncio.run(main())
PY
declare -A GB CPS
for name in umpa socat haproxy; do
	relay $name $IPORT
	GB[$name]=$(iperf_gbit $LP $S)
	unrelay $IPORT
	relay $name $EPORT
	CPS[$name]=$(python3 "$T/cps.py" $LP $S)
	unrelay $EPORT
	printf '%-8s throughput %6s Gbit/s   connections %6s /s\n' $name "${GB[$name]}" "${CPS[$name]}"
done
python3 - "${GB[umpa]}" "${GB[socat]}" "${GB[haproxy]}" "${CPS[umpa]}" "${CPS[socat]}" "${CPS[haproxy]}" <<'PY'
import sys
g = [float(x or 0) for x in sys.argv[1:4]]; c = [float(x or 0) for x in sys.argv[4:7]]
r = lambda a, b: "%.2f" % (a / b) if b else "n/a"
print("umpa/socat: throughput %s, connections/s %s" % (r(g[0], g[1]), r(c[0], c[1])))
print("umpa/haproxy: throughput %s, connections/s %s" % (r(g[0], g[2]), r(c[0], c[2])))
PY
