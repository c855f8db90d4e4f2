#!/usr/bin/env bash
# proxy_load.sh - `umpa proxy` under load, on loopback (peers: tests/proxy/load_peer.py):
#  - LOAD_CONNS (default 1000) connections open at once through a module chain (a Lua module of the
#    test's, which fails on a marker, then `stats`), together LOAD_BYTES through the proxy (default
#    128 MiB in CI; LOAD_BYTES=1073741824 for the issue's 1 GiB), half up, half down: every byte
#    arrives, checked by SHA-256 per connection and direction; the stats module counts each
#    direction's bytes of every connection;
#  - at the same time: 10 clients vanish mid-stream (RST), 5 send what makes the module fail, and 5
#    connect to a second proxy of the same process (made over --api) whose upstream refuses: those
#    end, counted as aborted, errors and refused, and nothing else is hurt;
#  - umpa's peak RSS (VmHWM) stays under LOAD_RSS_KB (default 262144: 256 MiB; the per-direction
#    bound is 256 KiB, so a thousand connections could hold far more if buffering were unbounded).
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
PEER="python3 $top_srcdir/tests/proxy/load_peer.py"
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init proxy_load python3 curl timeout

N=${LOAD_CONNS:-1000}
TOTAL=${LOAD_BYTES:-134217728}
RSS_MAX=${LOAD_RSS_KB:-262144}
NV=10 NB=5 NR=5
EACH=$((TOTAL / N / 2)) # bytes up, and as many down, per connection
ulimit -n 16384 2>/dev/null || ulimit -n 8192 2>/dev/null
[ "$(ulimit -n)" -ge $((4 * N + 256)) ] || {
	bad "ulimit -n is $(ulimit -n): $((4 * N + 256)) descriptors are needed for $N connections"
	exit 1
}

$PEER serve "$T/srv.port" 300 &
PIDS+=($!)
wait_file "$T/srv.port" || bad "upstream did not start"
SPORT=$(cat "$T/srv.port")
CPORT=$(freeport) # nobody listens there: the refusing upstream
APORT=$(freeport)
cat >"$T/boom.lua" <<'LUA'
return {
	help = "fails on a chunk that carries the load test's marker",
	new = function(opts, incoming)
		return {execute = function(data)
			if data:find("umpa-load-module-failure-marker-7f3a9c", 1, true) then error("the marker") end
			return data
		end}
	end,
}
LUA
"$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --module-file "$T/boom.lua" -m 'boom,stats' \
	--api 127.0.0.1:$APORT >"$T/proxy.out" 2>"$T/proxy.err" &
UPID=$!
PIDS+=($UPID)
for ((i = 0; i < 100; i++)); do
	grep -q 'listening on' "$T/proxy.err" 2>/dev/null && curl -s -o /dev/null "http://127.0.0.1:$APORT/version" && break
	kill -0 $UPID 2>/dev/null || break
	sleep 0.1
done
LPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/proxy.err" | head -1)
[ -n "$LPORT" ] || {
	bad "proxy did not start: $(cat "$T/proxy.err")"
	exit 1
}
curl -s -X POST "http://127.0.0.1:$APORT/proxies" \
	--data "{\"name\":\"refuser\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$CPORT\"}" >"$T/post.json"
RPORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"].rsplit(":",1)[1])' "$T/post.json" 2>/dev/null)
[ -n "$RPORT" ] || bad "POST /proxies: $(cat "$T/post.json")"

t0=$(date +%s.%N)
$PEER load $LPORT $N $EACH $EACH $NV $NB 240 >"$T/load.txt" 2>&1 &
LOADPID=$!
# while the load runs: the refused ones, and umpa's RSS
[ -n "$RPORT" ] && $PEER refused $RPORT $NR >"$T/refused.txt" 2>&1
rss=0
while kill -0 $LOADPID 2>/dev/null; do
	r=$(awk '/VmRSS/ {print $2}' /proc/$UPID/status 2>/dev/null)
	[ "${r:-0}" -gt $rss ] && rss=$r
	sleep 0.2
done
wait $LOADPID
t1=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$UPID/status)
asan=$(grep -c libasan /proc/$UPID/maps)
cat "$T/load.txt"
grep -q "^ok $N\$" "$T/load.txt" &&
	ok "$N connections at once, $EACH bytes each way each through 'boom,stats', SHA-256 equal both ways" ||
	bad "load: $(grep FAIL "$T/load.txt" | head -3)"
grep -q "^vanished $NV\$" "$T/load.txt" && ok "$NV clients vanished mid-stream (RST)" || bad "vanish"
grep -q "^closed $NB\$" "$T/load.txt" && ok "$NB connections whose module failed were closed" || bad "module failure"
grep -q "^refused $NR\$" "$T/refused.txt" 2>/dev/null && ok "$NR connections to the refusing upstream ended" ||
	bad "refused: $(cat "$T/refused.txt" 2>/dev/null)"
curl -s "http://127.0.0.1:$APORT/stats" >"$T/stats.json"
python3 -c 'import json,sys; p = json.load(open(sys.argv[1]))["proxies"]["refuser"]
sys.exit(0 if (p["connections"], p["refused"], p["active"]) == (int(sys.argv[2]),) * 2 + (0,) else 1)' "$T/stats.json" $NR &&
	ok "/stats: the refusing proxy counted $NR connections, $NR refused" || bad "/stats: $(cat "$T/stats.json")"
grep -q "module 'boom': .*the marker" "$T/proxy.err" && ok "the module's error is logged" || bad "no module error logged"
echo "umpa RSS: peak (VmHWM) $hwm kB, highest sample $rss kB; load $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
if [ "$asan" -gt 0 ]; then # AddressSanitizer's shadow and quarantine (256 MiB) are not umpa's buffering
	echo "note: a sanitizer build: its RSS is not held to the bound"
else
	[ -n "$hwm" ] && [ "$hwm" -lt "$RSS_MAX" ] && ok "umpa's peak RSS $hwm kB < $RSS_MAX kB" ||
		bad "umpa's peak RSS $hwm kB (bound $RSS_MAX kB)"
fi

kill -TERM $UPID
wait $UPID
rc=$?
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "exit status $rc after SIGTERM"
SUMMARY=$(grep 'connections:' "$T/proxy.err" | tail -1)
echo "$SUMMARY" | grep -q "$((N + NV + NB)) connections: $N done, $NV aborted, 0 refused, 0 reset, $NB errors" &&
	ok "summary: $SUMMARY" || bad "summary: $SUMMARY"
up=$(grep -c "c2s [0-9]* chunks, $((EACH + 16)) bytes" "$T/proxy.out")
down=$(grep -c "s2c [0-9]* chunks, $((EACH + 32)) bytes" "$T/proxy.out")
[ "$up" = "$N" ] && [ "$down" = "$N" ] && ok "stats module: $N connections counted $((EACH + 16)) bytes up and $((EACH + 32)) down" ||
	bad "stats module: $up up and $down down totals of the right size (want $N)"
exit $fail
