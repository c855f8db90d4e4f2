#!/usr/bin/env bash
# toxi.sh - `umpa proxy --api`: the Toxiproxy-compatible API driven with curl, every toxic measured.
#  1. endpoints: /version, /proxies (create 201 with the port that 0 picked, duplicate 409, list,
#     show, PATCH enabled false takes the proxy down, true brings it back), /populate (201, replaces
#     by name), toxics create/list/show/update/delete, DELETE proxy (204, then 404), /reset (204:
#     toxics gone, disabled proxies back), /metrics (Prometheus text with the bytes that passed),
#     --config FILE (Toxiproxy's format) loaded at start.
#  2. toxics, measured through a python peer: latency (+200 ms +-10 %), latency with toxicity 0
#     (nothing added), bandwidth (2000 KB/s: 2 MB in 1 s +-10 %), timeout (no data, closed after
#     500 ms), reset_peer (RST at once; after 300 ms), limit_data (exactly 12345 bytes, then EOF),
#     slicer (many small chunks, every byte), slow_close (EOF 500 ms late), packet_loss (rate 1:
#     nothing passes).
#  3. beyond Toxiproxy: a UDP proxy's packet_loss 0.3 over 1,000 datagrams (0.3 +- 0.06), its
#     duplicate and latency; a scheduled toxic off, on, off at its times, a flapping one in runs;
#     a matched toxic (client 127.0.0.2/32) hurts that client and not 127.0.0.1 (TCP latency; UDP
#     packet_loss 0.5 over 400 datagrams per client; a lua drop);
#     Lua toxics on UDP per datagram (replace changes each, dup sends each twice); a Lua module as
#     a toxic (http503:every=3 before python3's http.server: 200 200 503 ...); a match on Host
#     and one on a ClientHello's SNI.
#     `umpa proxy --udp` with modules (--c2s replace changes each datagram, --s2c dup doubles it) and
#     --http (the relay's counters in /stats).
#  4. bad input: malformed JSON, unknown type, unknown attribute, out-of-range values, bad stream,
#     duplicate names, unknown proxy or toxic: 4xx with {"error", "status"}, the proxy runs on.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
PEER="python3 $top_srcdir/tests/proxy/toxi_peer.py"
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init toxi curl python3 jq timeout
# api METHOD PATH [BODY]: curl, the status in $CODE, the body in $BODY (no Content-Type, as Toxiproxy's README)
api() {
	local out
	out=$(curl -s -m 10 -X "$1" -w '\n%{http_code}' "http://$API$2" ${3:+--data-binary "$3"})
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
}
# jget FILTER: jq over the last body (compact, raw strings)
jget() { jq -cr "$1" <<<"$BODY" 2>/dev/null; }
# within VALUE LOW HIGH
within() { awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN { exit !(v != "" && v + 0 >= l + 0 && v + 0 <= h + 0) }'; }
kv() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ---- peers and the proxy ----
$PEER serve "$T/peer.port" 300 &
PIDS+=($!)
wait_file "$T/peer.port" || {
	bad "peer did not start"
	exit 1
}
read -r SPORT UPORT <"$T/peer.port"
cat >"$T/config.json" <<EOF
[{"name": "fromfile", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:$SPORT"},
 {"name": "fromfile_off", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:$SPORT", "enabled": false}]
EOF
"$UMPA" proxy --api 127.0.0.1:0 --config "$T/config.json" --duration 300 2>"$T/api.err" &
PIDS+=($!)
APID=$!
for ((i = 0; i < 100; i++)); do
	grep -q 'Toxiproxy API on' "$T/api.err" 2>/dev/null && break
	kill -0 $APID 2>/dev/null || break
	sleep 0.1
done
API=$(sed -n 's/.*Toxiproxy API on \([0-9.:]*\).*/\1/p' "$T/api.err")
[ -n "$API" ] || {
	bad "umpa proxy --api did not start: $(cat "$T/api.err")"
	exit 1
}

# ---- 1. endpoints ----
api GET /version
[ "$CODE" = 200 ] && [ "$(jget '.version|split(".")[0]')" = 2 ] && ok "GET /version: $BODY" || bad "GET /version: $CODE $BODY"
api GET /proxies
[ "$(jget 'keys')" = '["fromfile","fromfile_off"]' ] && [ "$(jget '.fromfile_off.enabled')" = false ] &&
	ok "--config: both proxies, the disabled one disabled" || bad "--config: $BODY"
api POST /proxies "{\"name\":\"p1\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$SPORT\"}"
P1=$(jget '.listen|split(":")[1]')
[ "$CODE" = 201 ] && [ -n "$P1" ] && [ "$P1" != 0 ] && [ "$(jget '.toxics')" = "[]" ] &&
	ok "POST /proxies: 201, port 0 became $P1" || bad "POST /proxies: $CODE $BODY"
base=$($PEER rtt "$P1" 2>&1) && ok "echo through p1: ${base} ms" || bad "echo through p1: $base"
api POST /proxies "{\"name\":\"p1\",\"upstream\":\"127.0.0.1:$SPORT\"}"
[ "$CODE" = 409 ] && [ "$(jget '.status')" = 409 ] && ok "duplicate proxy: 409 $BODY" || bad "duplicate proxy: $CODE $BODY"
api GET /proxies/p1
[ "$CODE" = 200 ] && [ "$(jget '.upstream')" = "127.0.0.1:$SPORT" ] && ok "GET /proxies/p1" || bad "GET /proxies/p1: $CODE $BODY"
api PATCH /proxies/p1 '{"enabled": false}'
if [ "$CODE" = 200 ] && [ "$(jget '.enabled')" = false ] && ! $PEER rtt "$P1" >/dev/null 2>&1; then
	ok "PATCH enabled false: the proxy is down"
else
	bad "PATCH enabled false: $CODE $BODY"
fi
api PATCH /proxies/p1 "{\"enabled\": true, \"listen\": \"127.0.0.1:$P1\"}"
[ "$CODE" = 200 ] && $PEER rtt "$P1" >/dev/null 2>&1 && ok "PATCH enabled true: up again on $P1" || bad "PATCH enabled true: $CODE $BODY"
api POST /populate "[{\"name\":\"pop1\",\"upstream\":\"127.0.0.1:$SPORT\"},{\"name\":\"pop2\",\"upstream\":\"127.0.0.1:$SPORT\",\"listen\":\"localhost:0\"}]"
[ "$CODE" = 201 ] && [ "$(jget '.proxies|length')" = 2 ] && ok "POST /populate: 201, 2 proxies" || bad "POST /populate: $CODE $BODY"
api POST /populate "[{\"name\":\"pop1\",\"upstream\":\"127.0.0.1:9\"}]"
[ "$CODE" = 201 ] && [ "$(jget '.proxies[0].upstream')" = 127.0.0.1:9 ] && ok "POST /populate replaces by name" || bad "populate replace: $CODE $BODY"
api DELETE /proxies/pop2
c1=$CODE
api GET /proxies/pop2
[ "$c1" = 204 ] && [ "$CODE" = 404 ] && [ "$(jget '.error')" = "proxy not found" ] && ok "DELETE proxy: 204, then 404" || bad "DELETE proxy: $c1 $CODE $BODY"
api POST /proxies/p1/toxics '{"type":"latency","attributes":{"latency":50}}'
[ "$CODE" = 200 ] && [ "$(jget '[.name, .stream, .toxicity, .attributes]')" = '["latency_downstream","downstream",1,{"latency":50,"jitter":0}]' ] &&
	ok "toxic create: defaults name, stream, toxicity" || bad "toxic create: $CODE $BODY"
api PATCH /proxies/p1/toxics/latency_downstream '{"attributes":{"jitter":5},"toxicity":0.5}'
[ "$CODE" = 200 ] && [ "$(jget '[.attributes, .toxicity]')" = '[{"latency":50,"jitter":5},0.5]' ] && ok "toxic update merges attributes" || bad "toxic update: $CODE $BODY"
api GET /proxies/p1/toxics
[ "$CODE" = 200 ] && [ "$(jget 'length')" = 1 ] && ok "GET toxics" || bad "GET toxics: $CODE $BODY"
api GET /proxies/p1/toxics/latency_downstream
[ "$CODE" = 200 ] && ok "GET toxic" || bad "GET toxic: $CODE $BODY"
api DELETE /proxies/p1/toxics/latency_downstream
c1=$CODE
api GET /proxies/p1/toxics/latency_downstream
[ "$c1" = 204 ] && [ "$CODE" = 404 ] && [ "$(jget '.error')" = "toxic not found" ] && ok "DELETE toxic: 204, then 404" || bad "DELETE toxic: $c1 $CODE"
api POST /proxies/fromfile/toxics '{"type":"timeout","stream":"upstream"}'
api POST /reset
c1=$CODE
api GET /proxies
[ "$c1" = 204 ] && [ "$(jget '[.fromfile.toxics, .fromfile_off.enabled]')" = '[[],true]' ] &&
	ok "POST /reset: toxics gone, every proxy enabled" || bad "POST /reset: $c1 $BODY"
m=$(curl -s -m 5 "http://$API/metrics")
v=$(sed -n 's/^toxiproxy_proxy_sent_bytes_total{direction="downstream",.*proxy="p1".*} \([0-9]*\)$/\1/p' <<<"$m")
[ "${v:-0}" -gt 0 ] && grep -q '^# TYPE toxiproxy_proxy_received_bytes_total counter' <<<"$m" &&
	ok "GET /metrics: p1 sent $v bytes downstream" || bad "GET /metrics: $m"

api GET /stats
[ "$CODE" = 200 ] && [ "$(jget '.proxies.p1.downstream_bytes_out > 0')" = true ] && ok "GET /stats (control plane): p1 counters" || bad "GET /stats: $CODE $BODY"
ev=$(curl -s -N -m 0.5 "http://$API/events")
grep -q '^event: stats' <<<"$ev" && grep -q '"p1"' <<<"$ev" && ok "GET /events: a stats event with the proxies" || bad "GET /events: $ev"

# ---- 2. toxics, measured ----
base=$($PEER rtt "$P1")
api POST /proxies/p1/toxics '{"name":"lat","type":"latency","attributes":{"latency":200}}'
r=$($PEER rtt "$P1")
d=$(awk -v a="$r" -v b="$base" 'BEGIN { printf "%.1f", a - b }')
# the round trip holds the 200 ms (+-10 %) on top of the proxy's own (noisy on a loaded machine: bounded by it)
within "$r" 180 "$(awk -v b="$base" 'BEGIN { print 220 + b }')" && ok "latency 200: +$d ms ($base -> $r)" || bad "latency 200: $base -> $r ms"
api PATCH /proxies/p1/toxics/lat '{"toxicity":0}'
r=$($PEER rtt "$P1")
within "$r" 0 150 && ok "latency with toxicity 0: $r ms" || bad "latency toxicity 0: $r ms"
api DELETE /proxies/p1/toxics/lat

api POST /proxies/p1/toxics '{"name":"bw","type":"bandwidth","attributes":{"rate":2000}}'
r=$($PEER pull "$P1" 2000000)
[ "$(kv bytes "$r")" = 2000000 ] && within "$(kv secs "$r")" 0.9 1.1 && ok "bandwidth 2000 KB/s: 2 MB in $(kv secs "$r") s" || bad "bandwidth: $r"
api DELETE /proxies/p1/toxics/bw

api POST /proxies/p1/toxics '{"name":"to","type":"timeout","attributes":{"timeout":500}}'
r=$($PEER talk "$P1")
[ "$(kv bytes "$r")" = 0 ] && [ "$(kv end "$r")" = eof ] && within "$(kv secs "$r")" 0.45 1.0 && ok "timeout 500: no data, closed after $(kv secs "$r") s" || bad "timeout: $r"
api DELETE /proxies/p1/toxics/to

api POST /proxies/p1/toxics '{"name":"rp","type":"reset_peer","attributes":{"timeout":0}}'
r=$($PEER pull "$P1" 1000)
[ "$(kv bytes "$r")" = 0 ] && [ "$(kv end "$r")" = reset ] && within "$(kv secs "$r")" 0 0.5 && ok "reset_peer 0: RST at once" || bad "reset_peer 0: $r"
api PATCH /proxies/p1/toxics/rp '{"attributes":{"timeout":300}}'
r=$($PEER talk "$P1")
[ "$(kv bytes "$r")" = 0 ] && [ "$(kv end "$r")" = reset ] && within "$(kv secs "$r")" 0.28 0.8 && ok "reset_peer 300: RST after $(kv secs "$r") s" || bad "reset_peer 300: $r"
api DELETE /proxies/p1/toxics/rp

api POST /proxies/p1/toxics '{"name":"ld","type":"limit_data","attributes":{"bytes":12345}}'
r=$($PEER pull "$P1" 100000)
[ "$(kv bytes "$r")" = 12345 ] && [ "$(kv end "$r")" = eof ] && ok "limit_data 12345: cut at the byte, then EOF" || bad "limit_data: $r"
api DELETE /proxies/p1/toxics/ld

api POST /proxies/p1/toxics '{"name":"sl","type":"slicer","attributes":{"average_size":100,"size_variation":20,"delay":2000}}'
r=$($PEER pull "$P1" 5000)
[ "$(kv bytes "$r")" = 5000 ] && [ "$(kv chunks "$r")" -ge 20 ] && ok "slicer: 5000 bytes in $(kv chunks "$r") chunks" || bad "slicer: $r"
api DELETE /proxies/p1/toxics/sl

api POST /proxies/p1/toxics '{"name":"sc","type":"slow_close","attributes":{"delay":500}}'
r=$($PEER pull "$P1" 1000)
[ "$(kv bytes "$r")" = 1000 ] && [ "$(kv end "$r")" = eof ] && within "$(kv secs "$r")" 0.45 1.0 && ok "slow_close 500: EOF after $(kv secs "$r") s" || bad "slow_close: $r"
api DELETE /proxies/p1/toxics/sc

api POST /proxies/p1/toxics '{"name":"pl","type":"packet_loss","attributes":{"loss_rate":1}}'
r=$($PEER pull "$P1" 10000)
[ "$CODE" = 200 ] && [ "$(kv bytes "$r")" = 0 ] && ok "packet_loss 1 on TCP: every chunk dropped" || bad "packet_loss: $CODE $r"
api DELETE /proxies/p1/toxics/pl

# ---- 3. UDP, schedule, match ----
api POST /proxies "{\"name\":\"u1\",\"protocol\":\"udp\",\"upstream\":\"127.0.0.1:$UPORT\"}"
U1=$(jget '.listen|split(":")[1]')
[ "$CODE" = 201 ] && [ "$(jget '.protocol')" = udp ] && ok "UDP proxy on $U1" || bad "UDP proxy: $CODE $BODY"
api POST /proxies/u1/toxics '{"type":"packet_loss","stream":"upstream","attributes":{"loss_rate":0.3}}'
r=$($PEER udp "$U1" 1000)
loss=$(awk -v u="$(kv uniq "$r")" 'BEGIN { printf "%.3f", 1 - u / 1000 }')
within "$loss" 0.24 0.36 && ok "UDP packet_loss 0.3: $loss of 1000 datagrams lost" || bad "UDP packet_loss: $r"
api POST /proxies/u1/toxics '{"type":"latency","stream":"downstream","attributes":{"latency":100}}'
api POST /proxies/u1/toxics '{"type":"duplicate","stream":"downstream","attributes":{"probability":0.5}}'
api DELETE /proxies/u1/toxics/packet_loss_upstream
r=$($PEER udp "$U1" 500)
[ "$(kv uniq "$r")" = 500 ] && within "$(kv got "$r")" 680 820 && within "$(kv rtt_ms "$r")" 95 125 &&
	ok "UDP duplicate 0.5 + latency 100: $r" || bad "UDP duplicate + latency: $r"
api POST /proxies/u1/toxics '{"type":"slicer"}'
[ "$CODE" = 400 ] && ok "slicer on a UDP proxy: 400 $BODY" || bad "slicer on UDP: $CODE $BODY"
api DELETE /proxies/u1/toxics/latency_downstream
api DELETE /proxies/u1/toxics/duplicate_downstream
# a matched UDP toxic: sessions of 127.0.0.2 get an impairment of their own, 127.0.0.1 keeps the shared one
api POST /proxies/u1/toxics '{"name":"mloss","type":"packet_loss","stream":"upstream","attributes":{"loss_rate":0.5},"match":{"client":"127.0.0.2/32"}}'
[ "$CODE" = 200 ] && [ "$(jget '.match.client')" = 127.0.0.2/32 ] || bad "matched UDP toxic: $CODE $BODY"
r2=$($PEER udp "$U1" 400 200 127.0.0.2)
r1=$($PEER udp "$U1" 400 200 127.0.0.1)
loss=$(awk -v u="$(kv uniq "$r2")" 'BEGIN { printf "%.3f", 1 - u / 400 }')
within "$loss" 0.4 0.6 && [ "$(kv uniq "$r1")" = 400 ] &&
	ok "UDP packet_loss 0.5 matched to 127.0.0.2/32: $loss lost from .2, $(kv uniq "$r1")/400 back to .1" ||
	bad "matched UDP loss: .2 $r2; .1 $r1"
api DELETE /proxies/u1/toxics/mloss
api POST /proxies/u1/toxics '{"type":"latency","attributes":{"latency":100},"match":{"sni":"a.test"}}'
[ "$CODE" = 400 ] && [[ $BODY == *"for TCP proxies"* ]] && ok "match sni on UDP: 400 $BODY" || bad "sni on UDP: $CODE $BODY"
# Lua toxics on UDP, per datagram: replace changes each one, dup sends each twice (a table of two strings)
api POST /proxies/u1/toxics '{"name":"lu","type":"lua","stream":"upstream","attributes":{"chain":"replace:search=uu:replace=X,dup"}}'
[ "$CODE" = 200 ] || bad "lua toxic on UDP: $CODE $BODY"
r=$($PEER udp "$U1" 200)
[ "$(kv uniq "$r")" = 200 ] && [ "$(kv got "$r")" = 400 ] && [ "$(kv changed "$r")" = 400 ] &&
	ok "lua UDP toxic replace,dup: $r" || bad "lua UDP toxic: $r"
api POST /proxies/u1/toxics '{"name":"ld","type":"lua","stream":"downstream","attributes":{"chain":"drop"},"match":{"client":"127.0.0.2"}}'
r2=$($PEER udp "$U1" 100 200 127.0.0.2)
r1=$($PEER udp "$U1" 100 200 127.0.0.1)
[ "$(kv got "$r2")" = 0 ] && [ "$(kv got "$r1")" = 200 ] && ok "lua UDP toxic drop matched to 127.0.0.2: .2 got $(kv got "$r2"), .1 got $(kv got "$r1")" ||
	bad "lua UDP drop matched: .2 $r2; .1 $r1"
api GET /proxies/u1/toxics
api DELETE /proxies/u1/toxics/lu
api DELETE /proxies/u1/toxics/ld
# a lua toxic's delay on UDP holds each datagram
api POST /proxies/u1/toxics '{"name":"lw","type":"lua","stream":"upstream","attributes":{"chain":"delay:seconds=0.1"}}'
r=$($PEER udp "$U1" 20 5000)
[ "$(kv uniq "$r")" = 20 ] && within "$(kv rtt_ms "$r")" 100 400 && ok "lua UDP toxic delay 0.1 s: each datagram held ($r)" ||
	bad "lua UDP toxic delay: $r"
api DELETE /proxies/u1/toxics/lw

# the probe makes the toxic itself and counts its times from the answer
read -r r1 r2 r3 < <($PEER probe-after "http://$API/proxies/p1/toxics" \
	'{"name":"sch","type":"latency","attributes":{"latency":300},"schedule":{"start":600,"duration":900}}' "$P1" 0.05 0.9 1.9)
within "$r1" 0 150 && within "$r2" 280 400 && within "$r3" 0 150 && ok "schedule start 600 duration 900: off $r1, on $r2, off $r3 ms" ||
	bad "schedule: $r1 $r2 $r3"
api DELETE /proxies/p1/toxics/sch

api POST /proxies/p1/toxics '{"name":"m","type":"latency","attributes":{"latency":300},"match":{"client":"127.0.0.2/32"}}'
r1=$($PEER rtt "$P1" 127.0.0.2)
r2=$($PEER rtt "$P1" 127.0.0.1)
within "$r1" 280 400 && within "$r2" 0 150 && ok "match client 127.0.0.2/32: $r1 ms from .2, $r2 ms from .1" || bad "match: $r1 $r2"
api DELETE /proxies/p1/toxics/m
api POST /proxies/p1/toxics '{"name":"sni","type":"latency","attributes":{"latency":300},"match":{"sni":"slow.test"}}'
r1=$($PEER hello "$P1" slow.test)
r2=$($PEER hello "$P1" fast.test)
within "$r1" 280 400 && within "$r2" 0 150 && ok "match sni slow.test: $r1 ms, fast.test: $r2 ms (a ClientHello echoed)" || bad "match sni: $r1 $r2"
api DELETE /proxies/p1/toxics/sni

# flapping: 400 ms on, 400 ms off; 14 probes 100 ms apart see both, in runs
r=$($PEER probe-after "http://$API/proxies/p1/toxics" \
	'{"name":"flap","type":"latency","attributes":{"latency":100},"schedule":{"on":400,"off":400}}' \
	"$P1" 0.05 0.15 0.25 0.35 0.45 0.55 0.65 0.75 0.85 0.95 1.05 1.15 1.25 1.35)
pat=$(awk '{ for (i = 1; i <= NF; i++) printf "%s", ($i > 90 ? "1" : ($i < 60 ? "0" : "?")) }' <<<"$r")
runs=$(sed 's/\(.\)\1*/\1/g' <<<"$pat")
[[ $pat != *\?* ]] && [ "$runs" = 1010 ] && ok "schedule on 400 off 400: $pat" || bad "flapping: $pat ($r)"
api DELETE /proxies/p1/toxics/flap

# a Lua module as a toxic, and a match on the Host header: python3's http.server behind a proxy
mkdir -p "$T/www"
echo "hello" >"$T/www/a.txt"
WPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$T/www" && exec timeout 300 python3 -m http.server "$WPORT" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
api POST /proxies "{\"name\":\"web\",\"upstream\":\"127.0.0.1:$WPORT\"}"
WP=$(jget '.listen|split(":")[1]')
for ((i = 0; i < 100; i++)); do curl -s -o /dev/null "http://127.0.0.1:$WPORT/a.txt" && break; sleep 0.1; done
api POST /proxies/web/toxics '{"type":"lua","attributes":{"chain":"http503:every=3"}}'
codes=$(for i in 1 2 3 4 5 6; do curl -s -m 5 -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$WP/a.txt"; done)
[ "$codes" = "200 200 503 200 200 503 " ] && ok "lua toxic http503:every=3: $codes" || bad "lua toxic: $codes"
api DELETE /proxies/web/toxics/lua_downstream
api POST /proxies/web/toxics '{"type":"latency","attributes":{"latency":300},"match":{"host":"slow.test"}}'
t1=$(curl -s -m 5 -o /dev/null -w '%{time_total}' -H 'Host: slow.test' "http://127.0.0.1:$WP/a.txt")
t2=$(curl -s -m 5 -o /dev/null -w '%{time_total}' -H 'Host: fast.test' "http://127.0.0.1:$WP/a.txt")
within "$t1" 0.28 0.6 && within "$t2" 0 0.2 && ok "match host slow.test: $t1 s, fast.test: $t2 s" || bad "match host: $t1 $t2"

# ---- 4. bad input ----
check_bad() { # WANT METHOD PATH BODY
	api "$2" "$3" "${4:-}"
	if [ "$CODE" = "$1" ] && [ "$(jget '.status')" = "$1" ] && [ -n "$(jget '.error')" ]; then
		ok "$2 $3 ${4:-}: $CODE $(jget '.error')"
	else
		bad "$2 $3 ${4:-}: want $1, got $CODE $BODY"
	fi
}
check_bad 400 POST /proxies '{"name": "x", "upstream": '
check_bad 400 POST /proxies '[1, 2]'
check_bad 400 POST /proxies '{"upstream": "127.0.0.1:1"}'
check_bad 400 POST /proxies '{"name": "x"}'
check_bad 400 POST /proxies '{"name": "x", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:99999"}'
check_bad 400 POST /proxies/p1/toxics '{"type": "nosuch"}'
check_bad 400 POST /proxies/p1/toxics '{"type": "latency", "attributes": {"latencyy": 1}}'
check_bad 400 POST /proxies/p1/toxics '{"type": "latency", "attributes": {"latency": -5}}'
check_bad 400 POST /proxies/p1/toxics '{"type": "latency", "toxicity": 1.5}'
check_bad 400 POST /proxies/p1/toxics '{"type": "latency", "stream": "sideways"}'
check_bad 400 POST /proxies/p1/toxics '{"type": "latency", "match": {"client": "300.1.1.1/8"}}'
check_bad 400 POST /proxies/p1/toxics '{"type": "latency", "schedule": {"start": -1}}'
check_bad 400 POST /proxies/p1/toxics '{"type": "lua", "attributes": {"chain": "nosuch"}}'
check_bad 400 POST /proxies/p1/toxics '{"type": "lua"}'
check_bad 404 POST /proxies/nosuch/toxics '{"type": "latency"}'
check_bad 404 GET /proxies/p1/toxics/nosuch
check_bad 405 PUT /proxies
api POST /proxies/p1/toxics '{"type": "latency"}'
check_bad 409 POST /proxies/p1/toxics '{"type": "latency"}'
api DELETE /proxies/p1/toxics/latency_downstream
r=$($PEER rtt "$P1") && within "$r" 0 150 && kill -0 $APID && ok "after the bad input the proxy runs on ($r ms)" || bad "proxy after bad input: $r"

# the command line: --udp's relay; usage errors exit 2 with one line
"$UMPA" proxy --udp -l 127.0.0.1:0 -t 127.0.0.1:$UPORT --duration 120 2>"$T/udp.err" &
UPID=$!
PIDS+=($UPID)
for ((i = 0; i < 100; i++)); do grep -q 'relaying UDP on' "$T/udp.err" 2>/dev/null && break; sleep 0.1; done
UP=$(sed -n 's/.*relaying UDP on 127.0.0.1:\([0-9]*\) .*/\1/p' "$T/udp.err")
r=$($PEER udp "${UP:-1}" 200)
[ "$(kv uniq "$r")" = 200 ] && [ "$(kv got "$r")" = 200 ] && ok "umpa proxy --udp: 200 of 200 datagrams echoed" || bad "--udp: $r $(cat "$T/udp.err")"
kill -TERM $UPID
wait $UPID
grep -q 'datagrams c2s 200 in 200 out, s2c 200 in 200 out' "$T/udp.err" && ok "--udp summary: $(grep datagrams "$T/udp.err")" || bad "--udp summary: $(cat "$T/udp.err")"
# modules on --udp see each datagram: c2s changed, s2c each sent twice (a table of two strings)
"$UMPA" proxy --udp -l 127.0.0.1:0 -t 127.0.0.1:$UPORT --c2s replace:search=uu:replace=Z --s2c dup --duration 120 \
	--http 127.0.0.1:0 2>"$T/udpm.err" &
UPID=$!
PIDS+=($UPID)
for ((i = 0; i < 100; i++)); do grep -q 'relaying UDP on' "$T/udpm.err" 2>/dev/null && break; sleep 0.1; done
UP=$(sed -n 's/.*relaying UDP on 127.0.0.1:\([0-9]*\) .*/\1/p' "$T/udpm.err")
r=$($PEER udp "${UP:-1}" 100)
[ "$(kv uniq "$r")" = 100 ] && [ "$(kv got "$r")" = 200 ] && [ "$(kv changed "$r")" = 200 ] &&
	ok "umpa proxy --udp --c2s replace --s2c dup: $r" || bad "--udp with modules: $r $(cat "$T/udpm.err")"
HA=$(sed -n 's/.*http: listening on \(.*\)$/\1/p' "$T/udpm.err")
st=$(curl -s --max-time 5 "http://$HA/stats")
[ "$(jq '."c2s.dgrams_in"' <<<"$st")" = 100 ] && [ "$(jq '."s2c.dgrams_out"' <<<"$st")" = 200 ] &&
	[ "$(jq '."sessions.made"' <<<"$st")" = 1 ] && ok "proxy --udp --http: the relay's counters ($st)" || bad "proxy --udp --http /stats: $st"
# the session is listed as a connection (GET /conns, the live page's connections panel)
cs=$(curl -s --max-time 5 "http://$HA/conns")
[ "$(jq '.total' <<<"$cs")" = 1 ] && [ "$(jq -r '.list[0].target' <<<"$cs")" = "127.0.0.1:$UPORT" ] &&
	[ "$(jq -r '.list[0].client' <<<"$cs")" != "${UP:-x}" ] && [ "$(jq '.list[0]."c2s.bytes_in"' <<<"$cs")" = "$(jq '."c2s.bytes_in"' <<<"$st")" ] &&
	[ "$(jq '.list[0]."s2c.bytes_out"' <<<"$cs")" = "$(jq '."s2c.bytes_out"' <<<"$st")" ] &&
	ok "proxy --udp --http: GET /conns lists the session ($cs)" || bad "proxy --udp /conns: $cs"
kill -TERM $UPID
wait $UPID
# a module's delay on --udp holds each datagram (0.1 s), the others go on meanwhile
"$UMPA" proxy --udp -l 127.0.0.1:0 -t 127.0.0.1:$UPORT --c2s delay:seconds=0.1 --duration 120 2>"$T/udpd.err" &
UPID=$!
PIDS+=($UPID)
for ((i = 0; i < 100; i++)); do grep -q 'relaying UDP on' "$T/udpd.err" 2>/dev/null && break; sleep 0.1; done
UP=$(sed -n 's/.*relaying UDP on 127.0.0.1:\([0-9]*\) .*/\1/p' "$T/udpd.err")
r=$($PEER udp "${UP:-1}" 20 5000)
kill -TERM $UPID
wait $UPID
[ "$(kv uniq "$r")" = 20 ] && within "$(kv rtt_ms "$r")" 100 400 &&
	grep -q 'udp modules delayed c2s 20, s2c 0 datagrams' "$T/udpd.err" &&
	ok "umpa proxy --udp --c2s delay:seconds=0.1: each datagram held ($r)" || bad "--udp delay: $r $(cat "$T/udpd.err")"
usage() { # WHAT ARGS...: exit 2, one line on stderr
	local what=$1 rc
	shift
	"$UMPA" proxy "$@" >/dev/null 2>"$T/usage.err"
	rc=$?
	[ $rc = 2 ] && [ "$(wc -l <"$T/usage.err")" = 1 ] && ok "$what: exit 2, $(cat "$T/usage.err")" || bad "$what: exit $rc: $(cat "$T/usage.err")"
}
usage "--config without --api" --config "$T/config.json"
usage "--udp with two -l" --udp -l 127.0.0.1:0 -l 127.0.0.1:0 -t 127.0.0.1:1
usage "--api with a bad address" --api nowhere
echo '[{"name": "x"}]' >"$T/bad.json"
usage "--config without upstream" --api 127.0.0.1:0 --config "$T/bad.json"

kill -TERM $APID
wait $APID
rc=$?
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc: $(tail -3 "$T/api.err")"
exit $fail
