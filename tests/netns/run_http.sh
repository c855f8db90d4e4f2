#!/usr/bin/env bash
# run_http.sh - `umpa run --http`: the control API (tools/http_ctl.c) driven by curl.
#
# Namespace A runs `umpa run ticker.lua -i veth-a --http 127.0.0.1:0` (a
# template with an every(0.1) counter, three typed parameters and an
# on_param that logs); curl in the same namespace (its own loopback) checks:
# GET /stats rises; GET /params; PATCH /params changes values, the reply and
# GET /params show them, and the template's on_param log line and a "param"
# event arrive on GET /events; the event stream carries the counters every
# second to three clients at once, one of them killed mid-stream without
# disturbing the others or the run; a patch with one bad entry changes
# nothing; bad input (malformed JSON, unknown parameter, wrong type, a
# non-value, oversize body, wrong content type, wrong method, unknown path)
# is each a 4xx with {"error", "status"}; with --http-token a change needs
# the bearer token; a non-loopback address is refused without --http-allow,
# served with it (from namespace B), and a client outside the allowed prefix
# gets 403; bad --http values exit 2; the runs end at SIGTERM (--duration only bounds
# them: on a loaded machine the requests take long)
# with exit 0 and their counters.  Needs root; skips (77) otherwise.  Bounded: every
# command has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools curl python3 timeout

T=$(mktemp -d "${TMPDIR:-/tmp}/umpa-http.XXXXXX") || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/ticker.lua" <<'EOF'
-- ticker: counts ticks every 0.1 s; three parameters; logs their changes
params{
  rate={type="number", default="1.5", help="a rate"},
  name={type="string", default="x", help="a name"},
  on={type="bool", default="false", help="a switch"},
  level={type="int", default=5, min=0, max=10, help="a declared range"},
}
every(0.1, function() count("ticks") end)
function on_param(name, value)
  if name == "name" and value == "forbidden" then error("name: 'forbidden' is not allowed", 0) end
  log("param changed:", name, "=", tostring(value))
end
EOF

netns_pair http || {
	echo "FAIL: cannot create namespaces"
	exit 1
}

# start_umpa NAME ARGS...: run umpa in A in the background (stderr to
# $T/NAME.err), wait for its "http: listening on" line; sets PID and ADDR.
start_umpa() {
	local name=$1
	shift
	ip netns exec "$NS_A" timeout 300 "$UMPA" run "$T/ticker.lua" -i "$IF_A" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	PID=$!
	netns_http_addr "$T/$name.err"
}

# req NS METHOD PATH [curl args...]: prints "STATUS" then the body to $T/body
req() {
	local ns=$1 m=$2 p=$3
	shift 3
	ip netns exec "$ns" curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -X "$m" "$@" "http://$ADDR$p"
}
J=(-H 'Content-Type: application/json')

# jerr FILE STATUS: FILE is {"error": "...", "status": STATUS}
jerr() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"error", "status"}, d
assert d["status"] == int(sys.argv[2]) and d["error"], d
' "$1" "$2"
}

# exit_line RC WANT FILE PATTERN: exit status WANT and FILE one line matching PATTERN
exit_line() { [ "$1" = "$2" ] && [ "$(wc -l <"$3")" -eq 1 ] && grep -q -- "$4" "$3"; }
# status_is GOT WANT: the status and a JSON error of that status in $T/body
status_is() { [ "$1" = "$2" ] && jerr "$T/body" "$2"; }
# ok_get NS PATH: GET answers 200
ok_get() { [ "$(req "$1" GET "$2")" = 200 ]; }

# bad WHAT STATUS METHOD PATH [curl args]: a 4xx with a JSON error
bad() {
	local what=$1 want=$2 got
	shift 2
	got=$(req "$NS_A" "$@")
	check "$what: $want with a JSON error ($(head -c 120 "$T/body"))" status_is "$got" "$want"
}

# ---- the run with the control API ----
check "umpa run --http 127.0.0.1:0 prints the bound address" \
	start_umpa main --http 127.0.0.1:0 --duration 280 --json
MAIN=$PID
echo "control API on $ADDR"

req "$NS_A" GET /stats >/dev/null && cp "$T/body" "$T/s1.json"
sleep 1
req "$NS_A" GET /stats >/dev/null && cp "$T/body" "$T/s2.json"
check "GET /stats: ticks rise (every 0.1 s, about 10 in a second)" python3 -c '
import json
a, b = json.load(open("'"$T/s1.json"'")), json.load(open("'"$T/s2.json"'"))
assert 5 <= b["ticks"] - a.get("ticks", 0) <= 15, (a, b)
assert {"rx", "tx", "errors"} <= set(b), b
'
check "GET /params: 200" ok_get "$NS_A" /params
check "GET /params: rate is a number 1.5" python3 -c '
import json
d = json.load(open("'"$T/body"'"))
assert d["rate"] == {"type": "number", "value": "1.5", "default": "1.5", "help": "a rate"}, d
assert d["on"]["value"] == "false" and d["name"]["value"] == "x", d
'

# three event streams; the second is killed after 1.5 s
for i in 1 2 3; do
	in_a curl -s -N --max-time 4 "http://$ADDR/events" >"$T/ev$i.txt" 2>/dev/null &
	eval "EV$i=\$!"
done
sleep 0.5
got=$(req "$NS_A" PATCH /params "${J[@]}" -d '{"rate": 2.5, "on": true, "name": "y"}')
check "PATCH /params {rate: 2.5, on: true, name: y}: 200" [ "$got" = 200 ]
check "PATCH reply shows the new values" python3 -c '
import json
d = json.load(open("'"$T/body"'"))
assert (d["rate"]["value"], d["on"]["value"], d["name"]["value"]) == ("2.5", "true", "y"), d
'
sleep 1
kill "$EV2" 2>/dev/null
wait "$EV1" "$EV3" 2>/dev/null
wait "$EV2" 2>/dev/null
check "the run goes on after a client left mid-stream" ok_get "$NS_A" /stats
check "... the process is alive" kill -0 "$MAIN"

# sse FILE: parse the stream; checks per the arguments
cat >"$T/sse.py" <<'EOF'
import json, sys
evs, ev = [], {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line:
        if ev:
            evs.append(ev)
        ev = {}
    elif line.startswith("event: "):
        ev["event"] = line[7:]
    elif line.startswith("data: "):
        ev["data"] = json.loads(line[6:])
stats = [e["data"]["ticks"] for e in evs if e["event"] == "stats"]
logs = [e["data"]["line"] for e in evs if e["event"] == "log"]
params = [(e["data"]["name"], e["data"]["value"]) for e in evs if e["event"] == "param"]
need = int(sys.argv[2])
assert len(stats) >= need, stats
assert stats == sorted(stats) and stats[-1] > stats[0], stats
assert "param changed: rate = 2.5" in logs and "param changed: on = true" in logs, logs
assert ("rate", "2.5") in params and ("name", "y") in params, params
print(len(stats), "stats events", stats, "logs", logs)
EOF
check "event stream 1: counters every second (>= 4 in 4 s), on_param log lines, param events" \
	python3 "$T/sse.py" "$T/ev1.txt" 4
check "event stream 3 (a client at the same time) got the same" python3 "$T/sse.py" "$T/ev3.txt" 4
check "event stream 2 (killed after ~2 s) had its events until then" python3 "$T/sse.py" "$T/ev2.txt" 2
check "the template logged on_param on stderr too" grep -q 'param changed: rate = 2.5' "$T/main.err"

# a patch is checked whole before anything changes
bad "PATCH with one unknown name among good ones" 400 PATCH /params "${J[@]}" -d '{"rate": 3.5, "nope": 1}'
req "$NS_A" GET /params >/dev/null
check "... and rate is still 2.5" python3 -c '
import json
assert json.load(open("'"$T/body"'"))["rate"]["value"] == "2.5"
'
# a value of the right type outside the declared range: 400 naming it, nothing changed
bad "out of the declared range (level 0..10: 11)" 400 PATCH /params "${J[@]}" -d '{"rate": 3.5, "level": 11}'
check "... the error names the parameter and its bound" grep -q "parameter 'level': '11' is not at most 10" "$T/body"
req "$NS_A" GET /params >/dev/null
check "... and rate is still 2.5, level 5" python3 -c '
import json
p = json.load(open("'"$T/body"'"))
assert p["rate"]["value"] == "2.5" and p["level"]["value"] == "5", p
'
# a value the template's on_param refuses: 400 with its message; what the patch applied before is put back
bad "refused by the template's on_param" 400 PATCH /params "${J[@]}" -d '{"rate": 4.5, "name": "forbidden"}'
check "... the error names the parameter and the template's reason" grep -q "parameter 'name': 'forbidden' refused: name: 'forbidden' is not allowed" "$T/body"
req "$NS_A" GET /params >/dev/null
check "... and rate is still 2.5, name still y" python3 -c '
import json
p = json.load(open("'"$T/body"'"))
assert p["rate"]["value"] == "2.5" and p["name"]["value"] == "y", p
'
bad "malformed JSON" 400 PATCH /params "${J[@]}" -d '{"rate": '
bad "not an object" 400 PATCH /params "${J[@]}" -d '[1, 2]'
bad "unknown parameter" 400 PATCH /params "${J[@]}" -d '{"nope": 1}'
bad "wrong type (number parameter, text)" 400 PATCH /params "${J[@]}" -d '{"rate": "fast"}'
bad "wrong type (bool parameter, 7)" 400 PATCH /params "${J[@]}" -d '{"on": 7}'
bad "an array as a value" 400 PATCH /params "${J[@]}" -d '{"rate": [1]}'
bad "duplicate names" 400 PATCH /params "${J[@]}" -d '{"rate": 1, "rate": 2}'
bad "empty body" 400 PATCH /params "${J[@]}"
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
bad "100 kB body (cap 64 KiB)" 413 PATCH /params "${J[@]}" --data-binary "@$T/big.json"
bad "form-encoded body" 415 PATCH /params -d 'rate=3'
bad "DELETE /stats" 405 DELETE /stats
bad "POST /params" 405 POST /params "${J[@]}" -d '{}'
bad "POST /events" 405 POST /events
bad "unknown path" 404 GET /nothing-here
in_a curl -s -i -X DELETE --max-time 5 "http://$ADDR/params" >"$T/405.txt"
check "a 405 names the allowed methods" grep -qi "^Allow: GET, HEAD, PATCH" "$T/405.txt"
check "after all that the run still answers" ok_get "$NS_A" /stats

# the bind is taken: exit 1 with one line
PORT=${ADDR##*:}
in_a timeout 10 "$UMPA" run "$T/ticker.lua" -i "$IF_A" --http "127.0.0.1:$PORT" --duration 1 >/dev/null 2>"$T/busy.err"
rc=$?
check "a port in use: exit 1, one line ($(cat "$T/busy.err"))" exit_line "$rc" 1 "$T/busy.err" "cannot listen"

kill -TERM "$MAIN"
wait "$MAIN"
rc=$?
check "SIGTERM ends the run with exit 0" [ "$rc" = 0 ]
check "and it prints its counters (JSON, more ticks than at the start)" python3 -c '
import json
assert json.load(open("'"$T/main.out"'"))["ticks"] > json.load(open("'"$T/s2.json"'"))["ticks"]
'

# ---- the token ----
check "--http-token: listening" start_umpa tok --http 127.0.0.1:0 --http-token s3cret --duration 280
TOK=$PID
bad "PATCH without the token" 401 PATCH /params "${J[@]}" -d '{"rate": 4}'
bad "PATCH with a wrong token" 401 PATCH /params "${J[@]}" -H 'Authorization: Bearer s3cre' -d '{"rate": 4}'
check "GET /params needs no token" ok_get "$NS_A" /params
got=$(req "$NS_A" PATCH /params "${J[@]}" -H 'Authorization: Bearer s3cret' -d '{"rate": 4}')
check "PATCH with the token: 200" [ "$got" = 200 ]
check "... rate is 4" grep -q '"rate":{"type":"number","value":"4"' "$T/body"
kill -TERM "$TOK" # (ended by a signal, not a short --duration: a loaded machine makes the requests slow)
wait "$TOK"
check "token run exits 0" [ $? = 0 ]

# ---- addresses ----
in_a timeout 10 "$UMPA" run "$T/ticker.lua" -i "$IF_A" --http "$IP_A:0" --duration 1 >/dev/null 2>"$T/nl.err"
rc=$?
check "--http $IP_A:0 without --http-allow: exit 2, one line ($(cat "$T/nl.err"))" \
	exit_line "$rc" 2 "$T/nl.err" "not a loopback address"
for a in "127.0.0.1" "localhost:80" "127.0.0.1:99999" "[::1]80" "10.0.0.0/8:1"; do
	in_a timeout 10 "$UMPA" run "$T/ticker.lua" -i "$IF_A" --http "$a" --duration 1 >/dev/null 2>"$T/ba.err"
	rc=$?
	check "--http '$a': exit 2, one line ($(cat "$T/ba.err"))" exit_line "$rc" 2 "$T/ba.err" "--http"
done
in_a timeout 10 "$UMPA" run "$T/ticker.lua" -i "$IF_A" --http 127.0.0.1:0 --http-allow 10.0.0.0/33 \
	--duration 1 >/dev/null 2>"$T/bp.err"
rc=$?
check "--http-allow 10.0.0.0/33: exit 2, one line ($(cat "$T/bp.err"))" exit_line "$rc" 2 "$T/bp.err" "--http-allow"
"$UMPA" build -w "$T/one.pcap" 'ether{}/ip{}/udp{}' >/dev/null 2>&1
timeout 10 "$UMPA" run "$T/ticker.lua" --offline "$T/one.pcap" --http 127.0.0.1:0 >/dev/null 2>"$T/off.err"
rc=$?
check "--http with --offline: exit 2, one line ($(cat "$T/off.err"))" exit_line "$rc" 2 "$T/off.err" "--http"

check "--http $IP_A:0 --http-allow 10.77.0.0/24: listening" \
	start_umpa allow --http "$IP_A:0" --http-allow 10.77.0.0/24 --duration 280
ALLOW=$PID
check "B (10.77.0.2, inside the prefix) reads /stats over the veth" ok_get "$NS_B" /stats
check "... the counters" grep -q "\"rx\":" "$T/body"
kill -TERM "$ALLOW"
wait "$ALLOW"
check "--http-allow run exits 0" [ $? = 0 ]
check "--http 0.0.0.0:0 --http-allow $IP_A/32: listening" \
	start_umpa only --http 0.0.0.0:0 --http-allow "$IP_A/32" --duration 280
ONLY=$PID
ADDR_ANY=$ADDR
ADDR=$IP_A:${ADDR_ANY##*:}
got=$(req "$NS_B" GET /stats)
check "B (outside $IP_A/32) gets 403 with a JSON error" status_is "$got" 403
ADDR=127.0.0.1:${ADDR_ANY##*:}
check "A's loopback is served" ok_get "$NS_A" /stats
kill -TERM "$ONLY"
wait "$ONLY"
check "that run exits 0" [ $? = 0 ]

finish
