#!/usr/bin/env bash
# page_http.sh - the live page of --http (tools/http_page.c) and its browser rules, driven by curl.
#
# Namespace A runs `umpa run ticker.lua -i veth-a --http 127.0.0.1:0
# --http-token s3cret` (a template with an every(0.1) counter and three
# parameters); curl in A checks: GET / is the page (HTML naming page.js and
# chart.js, with its security headers), /page.js, /page.css and /chart.js
# (Debian's Chart.js) are served, a POST / is 405; /events is a stream of
# "event: NAME" / "data: ONE-LINE-JSON" blocks ending in a blank line: "hello"
# first ({"title": "run ...", "pid": the run's pid, "bound"}), "stats" at
# once and every second (rising), "param" when a PATCH changes a value; the
# page, /events and /params need no token, a change does (401 with a JSON
# error and WWW-Authenticate, 200 with it); a request from a page of an
# allowed origin (loopback) gets Access-Control-Allow-Origin, one from another
# origin (a web site, "null") 403 with a JSON error; a CORS preflight
# (OPTIONS) is 204 without the token; a Host that is a name (DNS rebinding)
# is 403 while loopback-only.  Then A serves on 10.77.0.1 with --http-allow
# 10.77.0.2/32 (bound to 0.0.0.0): B (inside) gets the page and may come
# from the page of 10.77.0.1 (the server's own origin, outside the prefix);
# with --http-allow 10.77.0.9/32 B gets 403 with a JSON error.
# Last, `umpa proxy --http` (relaying to its own control API): /stats counts
# the connection and its bytes per direction, / is the page, /events says
# hello as "proxy".
# Needs root; skips (77) otherwise.  Bounded: every command has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
export UMPA_PAGE_DIR=$top_srcdir/tools/page
netns_require_root
netns_need_tools curl python3 timeout

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir page-http) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

cat >"$T/ticker.lua" <<'EOF2'
params{
  rate={type="number", default="1.5", help="a rate"},
  name={type="string", default="x", help="a name"},
  on={type="bool", default="false", help="a switch"},
}
every(0.1, function() count("ticks") end)
EOF2

netns_pair page || {
	echo "FAIL: cannot create namespaces"
	exit 1
}

# start_umpa NAME ARGS...: umpa run in A in the background; waits for "http: listening on"; sets PID ADDR
start_umpa() {
	local name=$1
	shift
	ip netns exec "$NS_A" timeout --foreground 30 "$UMPA" run "$T/ticker.lua" -i "$IF_A" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	PID=$!
	netns_http_addr "$T/$name.err"
}

# req NS METHOD PATH [curl args]: prints the status; headers in $T/head, body in $T/body
req() {
	local ns=$1 m=$2 p=$3
	shift 3
	ip netns exec "$ns" curl -s -D "$T/head" -o "$T/body" -w '%{http_code}' --max-time 5 -X "$m" "$@" "http://$ADDR$p"
}
J=(-H 'Content-Type: application/json')
# jerr STATUS: $T/body is exactly {"error": "...", "status": STATUS}
jerr() { grep -Eq "^\{\"error\":\"[^\"]+.*\",\"status\":$1\}$" "$T/body"; }
status_is() { [ "$1" = "$2" ] && jerr "$2"; }
hdr() { tr -d '\r' <"$T/head" | grep -qi "^$1"; }
bad() { # bad WHAT STATUS NS METHOD PATH [curl args]
	local what=$1 want=$2 got
	shift 2
	got=$(req "$@")
	check "$what: $want with a JSON error ($(head -c 140 "$T/body"))" status_is "$got" "$want"
}

check "umpa run --http 127.0.0.1:0 --http-token s3cret: listening" \
	start_umpa main --http 127.0.0.1:0 --http-token s3cret --duration 25
MAIN=$PID

# ---- the page ----
got=$(req "$NS_A" GET /)
page_ok() {
	[ "$got" = 200 ] && hdr 'Content-Type: text/html' && grep -q '<script src="page.js"' "$T/body" &&
		grep -q '<script src="chart.js"' "$T/body" && hdr "Content-Security-Policy: default-src 'self'" &&
		hdr 'X-Frame-Options: DENY'
}
check "GET / (no token): the page, text/html, CSP and X-Frame-Options" page_ok
for f in page.js:text/javascript page.css:text/css; do
	got=$(req "$NS_A" GET "/${f%%:*}")
	check "GET /${f%%:*}: 200 ${f#*:}, the file of tools/page" \
		eval '[ "$got" = 200 ] && hdr "Content-Type: ${f#*:}" && cmp -s "$T/body" "$UMPA_PAGE_DIR/${f%%:*}"'
done
got=$(req "$NS_A" GET /chart.js)
check "GET /chart.js: Debian's Chart.js, served by umpa ($(grep -o 'Chart.js v[0-9.]*' "$T/body" | head -1))" \
	eval '[ "$got" = 200 ] && grep -q "Chart.js v[0-9]" "$T/body"'
bad "POST / with the token" 405 "$NS_A" POST / -H 'Authorization: Bearer s3cret'
check "... naming GET, HEAD" hdr 'Allow: GET, HEAD'
bad "unknown path /etc/passwd" 404 "$NS_A" GET /etc/passwd
bad "a path that climbs (/../page.js)" 404 "$NS_A" GET /x/../../page.js --path-as-is

# ---- /events ----
in_a curl -s -N --max-time 2.6 "http://$ADDR/events" >"$T/ev.txt" 2>/dev/null &
EV=$!
sleep 0.8
got=$(req "$NS_A" PATCH /params "${J[@]}" -H 'Authorization: Bearer s3cret' -d '{"rate": 2.5}')
check "PATCH /params with the token: 200" [ "$got" = 200 ]
wait $EV
check "/events: hello first, stats at once and every second (rising), a param event; every block well formed" \
	python3 - "$T/ev.txt" "$MAIN" <<'EOF2'
import json, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n\n"), repr(text[-40:])
evs = []
for block in text[:-2].split("\n\n"):
    lines = block.split("\n")
    assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), lines
    evs.append((lines[0][7:], json.loads(lines[1][6:])))
assert evs[0][0] == "hello", evs[0]
h = evs[0][1]
assert h["title"].startswith("run ") and h["title"].endswith("ticker.lua"), h
assert h["pid"] > 0 and h["bound"].startswith("127.0.0.1:"), h
stats = [d["ticks"] for e, d in evs if e == "stats"]
assert evs[1][0] == "stats" and len(stats) >= 3 and stats == sorted(stats) and stats[-1] > stats[0], stats
assert ("param", {"name": "rate", "value": "2.5"}) in evs, evs
print("  ", [e for e, d in evs])
EOF2

# ---- the token: reads free, changes need it ----
bad "PATCH /params without the token" 401 "$NS_A" PATCH /params "${J[@]}" -d '{"rate": 4}'
check "... with WWW-Authenticate: Bearer" hdr 'WWW-Authenticate: Bearer'
bad "PATCH /params with a wrong token" 401 "$NS_A" PATCH /params "${J[@]}" -H 'Authorization: Bearer s3cre' -d '{"rate": 4}'
check "GET /params needs no token" [ "$(req "$NS_A" GET /params)" = 200 ]

# ---- origins (CORS) and Host ----
PORT=${ADDR##*:}
got=$(req "$NS_A" GET /stats -H "Origin: http://127.0.0.1:9")
check "GET /stats from a page of http://127.0.0.1:9: 200 with Access-Control-Allow-Origin" \
	eval '[ "$got" = 200 ] && hdr "Access-Control-Allow-Origin: http://127.0.0.1:9" && hdr "Vary: Origin"'
got=$(req "$NS_A" GET /events -H "Origin: http://localhost:$PORT" --max-time 1)
check "GET /events from a page of localhost: its headers carry Access-Control-Allow-Origin" \
	hdr "Access-Control-Allow-Origin: http://localhost:$PORT"
bad "GET /stats from a page of https://evil.example" 403 "$NS_A" GET /stats -H 'Origin: https://evil.example'
check "... and no Access-Control-Allow-Origin" eval '! hdr Access-Control-Allow-Origin'
bad "PATCH from a page of http://10.1.2.3 with the token" 403 "$NS_A" PATCH /params "${J[@]}" \
	-H 'Origin: http://10.1.2.3' -H 'Authorization: Bearer s3cret' -d '{"rate": 9}'
bad "GET /events from Origin: null (a file)" 403 "$NS_A" GET /events -H 'Origin: null'
got=$(req "$NS_A" OPTIONS /params -H "Origin: http://127.0.0.1:$PORT" -H 'Access-Control-Request-Method: PATCH' \
	-H 'Access-Control-Request-Headers: authorization,content-type')
check "CORS preflight of a PATCH (no token): 204 allowing PATCH, Authorization, Content-Type" \
	eval '[ "$got" = 204 ] && hdr "Access-Control-Allow-Methods: .*PATCH" && hdr "Access-Control-Allow-Headers: Content-Type, Authorization" && hdr "Access-Control-Allow-Origin: http://127.0.0.1:$PORT"'
bad "GET / with Host: evil.example (DNS rebinding)" 403 "$NS_A" GET / -H "Host: evil.example:$PORT"
check "GET / with Host: localhost:$PORT: 200" [ "$(req "$NS_A" GET / -H "Host: localhost:$PORT")" = 200 ]
got=$(req "$NS_A" PATCH /params "${J[@]}" -H 'Authorization: Bearer s3cret' -d '{"rate": 1.5}')
check "after all that, PATCH with the token still works" [ "$got" = 200 ]
kill -TERM "$MAIN"
wait "$MAIN"
check "the run ends with exit 0 at SIGTERM" [ $? = 0 ]

# ---- --http-allow ----
check "--http 0.0.0.0:0 --http-allow $IP_B/32: listening" start_umpa allow --http 0.0.0.0:0 --http-allow "$IP_B/32" --duration 10
ALLOW=$PID
ADDR=$IP_A:${ADDR##*:}
check "B (inside) gets the page" eval '[ "$(req "$NS_B" GET /)" = 200 ] && grep -q "umpa live" "$T/body"'
got=$(req "$NS_B" GET /params -H "Origin: http://$ADDR")
check "B, from the page of $ADDR itself (not inside --http-allow): Access-Control-Allow-Origin" eval '[ "$got" = 200 ] && hdr "Access-Control-Allow-Origin: http://$ADDR"'
check "with --http-allow a Host name is accepted (the user opened a network)" \
	[ "$(req "$NS_B" GET /stats -H "Host: umpa-a.example:${ADDR##*:}")" = 200 ]
P=${ADDR##*:}
bad "B, from a page of a name (umpa-a.example, maybe rebound) with that Host" 403 "$NS_B" GET /stats \
	-H "Host: umpa-a.example:$P" -H "Origin: http://umpa-a.example:$P"
kill -TERM "$ALLOW"
wait "$ALLOW"
check "--http 0.0.0.0:0 --http-allow 10.77.0.9/32: listening" start_umpa deny --http 0.0.0.0:0 --http-allow 10.77.0.9/32 --duration 10
DENY=$PID
ADDR=$IP_A:${ADDR##*:}
bad "B (outside 10.77.0.9/32) asks for the page" 403 "$NS_B" GET /
bad "B (outside) opens /events" 403 "$NS_B" GET /events
kill -TERM "$DENY"
wait "$DENY"

# ---- umpa proxy --http: its counters and the page (the proxy relays to its own control API) ----
ip netns exec "$NS_A" timeout --foreground 30 "$UMPA" proxy -l 127.0.0.1:8081 -t 127.0.0.1:8080 --http 127.0.0.1:8080 \
	--duration 20 >"$T/proxy.out" 2>"$T/proxy.err" &
PROXY=$!
for i in $(seq 100); do grep -q "http: listening on 127.0.0.1:8080" "$T/proxy.err" && break; sleep 0.1; done
ADDR=127.0.0.1:8081
check "through the proxy (:8081 -> :8080), GET /stats of the proxy itself" [ "$(req "$NS_A" GET /stats)" = 200 ]
ADDR=127.0.0.1:8080
got=$(req "$NS_A" GET /stats)
check "proxy --http: GET /stats counts that connection and its bytes per direction ($(head -c 150 "$T/body"))" \
	eval '[ "$got" = 200 ] && grep -q "\"conns.accepted\":[1-9]" "$T/body" && grep -q "\"c2s.bytes_in\":[1-9]" "$T/body" && grep -q "\"s2c.bytes_out\":[1-9]" "$T/body"'
check "proxy --http: GET / is the page" eval '[ "$(req "$NS_A" GET /)" = 200 ] && grep -q "umpa live" "$T/body"'
in_a curl -s -N --max-time 2 "http://127.0.0.1:8081/events" >/dev/null 2>&1 & # an open connection through the proxy
HELD=$!
for i in $(seq 30); do
	req "$NS_A" GET /conns >/dev/null
	grep -q '"s2c.bytes_out":[1-9]' "$T/body" && break
	sleep 0.1
done
check "proxy --http: GET /conns lists the open connection, its peers and bytes ($(head -c 230 "$T/body"))" \
	grep -Eq '^\{"list":\[\{"id":[0-9]+,"client":"127\.0\.0\.1:[0-9]+","target":"127\.0\.0\.1:8080","age":[0-9.]+,"connected":true,"tls":false,"c2s\.bytes_in":[1-9][0-9]*,.*"s2c\.bytes_out":[1-9][0-9]*,"sni":""\}\],"total":1\}$' "$T/body"
kill $HELD 2>/dev/null
wait $HELD 2>/dev/null
in_a curl -s -N --max-time 1.2 "http://$ADDR/events" >"$T/pev.txt" 2>/dev/null
check "proxy --http: /events says hello as \"proxy\", then the counters and the connections" \
	eval 'head -2 "$T/pev.txt" | grep -q "^data: {\"title\":\"proxy\"" && grep -q "^event: stats" "$T/pev.txt" && grep -q "^event: conns" "$T/pev.txt"'
bad "proxy --http: /params (the proxy has none here)" 404 "$NS_A" GET /params
# (timeout --foreground: without it timeout(1) sends a second SIGTERM to the process group, and
# umpa dies of it when it comes while the loop is already shutting down)
kill -TERM "$PROXY"
wait "$PROXY"
rc=$?
check "the proxy ends at SIGTERM with exit 0 ($rc)" [ $rc = 0 ]
ip netns exec "$NS_A" timeout 10 "$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:1 --http-token x >/dev/null 2>"$T/pt.err"
rc=$?
check "proxy --http-token without --http: exit 2, one line ($(cat "$T/pt.err"))" \
	eval '[ $rc = 2 ] && [ "$(wc -l <"$T/pt.err")" = 1 ]'

finish
