#!/usr/bin/env bash
# bench_http.sh - the control API's request rate: GET /stats and PATCH /params
# over one keep-alive connection (Python's http.client), against `umpa run`
# of a template with an every(0.1) timer on the loopback of a namespace of
# its own; prints requests per second and checks the timer kept its pace.
# Not a test: nothing fails for being slow.  Needs root.
# Usage: tests/bench/bench_http.sh [UMPA] [REQUESTS]
set -uo pipefail
UMPA=${1:-./umpa}
N=${2:-2000}
[ "$(id -u)" -eq 0 ] || { echo "bench_http: needs root (a namespace)"; exit 77; }
T=$(mktemp -d) || exit 1
NS=umpa-bhttp-$$
trap 'ip netns pids $NS 2>/dev/null | xargs -r kill; ip netns del $NS 2>/dev/null; rm -rf "$T"' EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1
cat >"$T/t.lua" <<'LUA'
-- bench: a timer and a parameter
params{rate={type="number", default="1"}}
every(0.1, function() count("ticks") end)
LUA
cat >"$T/b.py" <<'PY'
import http.client, json, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
c = http.client.HTTPConnection(host, int(port), timeout=5)
t0 = time.perf_counter()
for i in range(n):
    c.request("GET", "/stats"); json.loads(c.getresponse().read())
t1 = time.perf_counter()
for i in range(n):
    c.request("PATCH", "/params", body=json.dumps({"rate": i + 0.5}), headers={"Content-Type": "application/json"})
    r = c.getresponse(); assert r.status == 200; r.read()
t2 = time.perf_counter()
print(f"GET /stats     {n} in {t1-t0:.3f} s: {n/(t1-t0):.0f} req/s, {(t1-t0)/n*1e6:.0f} us each")
print(f"PATCH /params  {n} in {t2-t1:.3f} s: {n/(t2-t1):.0f} req/s, {(t2-t1)/n*1e6:.0f} us each")
PY
start=$(date +%s.%N)
ip netns exec "$NS" timeout 120 "$UMPA" run "$T/t.lua" -i lo --http 127.0.0.1:0 --json >"$T/out" 2>"$T/err" &
PID=$!
for _ in $(seq 50); do grep -q "listening on" "$T/err" && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on \(.*\)$/\1/p' "$T/err")
ip netns exec "$NS" python3 "$T/b.py" "$ADDR" "$N"
end=$(date +%s.%N)
kill -TERM $PID
wait $PID
python3 - "$T/out" "$start" "$end" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
el = float(sys.argv[3]) - float(sys.argv[2])
print("timer: %d ticks of every(0.1) in a run of %.1f s (at most %d)" % (d.get("ticks", 0), el, int(el * 10)))
PY
