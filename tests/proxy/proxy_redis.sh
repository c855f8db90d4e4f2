#!/usr/bin/env bash
# proxy_redis.sh - `umpa proxy` rules (file, PUT over --http, redis key) and the redis control API of
# tcpproxy's fork "mallory revisited", against a real redis-server on loopback and python3-redis clients.
#  1. --redis with -m debug: curl through; stats:connections:bytes and stats:summary:bytes hold what curl
#     sent plus what it received (curl's own counts), packets > 0, status C; the debug:* feed (psubscribe)
#     carries the request and the response: base64 decodes to curl's bytes.
#  2. inspect: a client sets debugging 1, edits the held request and response on inspect:* and publishes
#     them on inspected:* (the request on tcpproxy_cli.py's short channel): curl gets the edited bytes.  With no client answering, the hold times out (0.4 s)
#     and the original goes on.
#  3. --tls-mitm --redis without --ca-dir: the CA is made and stored in ca:cert; curl trusts it
#     (--cacert from redis) through the MITM to openssl s_server; the leaf goes to HOST:cert, and a
#     restarted proxy and a second proxy on the same redis serve that very leaf (byte for byte), and a leaf
#     one of two running proxies makes is served by the other; a stored leaf of another CA is made again
#     and replaced.
#  4. rules: from a file (by dstport; by hostname found by peek_httphost), the file changed while the proxy
#     runs (the next connection has the new rules), PUT /rules over --http (GET returns them; a bad PUT: 400),
#     the redis key rules (a SET followed at once by a connection: that connection has them).
#  5. bad input: a bad rule file, an unknown module in a rule: one line, exit 2; an unreachable redis: the
#     proxy says so in one line and relays on.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init proxy_redis curl python3 redis-server openssl timeout
# python3-redis is Debian's: /usr/bin/python3 sees it when another python3 comes first in PATH
PY=python3
python3 -c 'import redis' 2>/dev/null || PY=/usr/bin/python3
$PY -c 'import redis' 2>/dev/null || {
	echo "SKIP: python3-redis is missing (tests/deps.sh installs it)"
	exit 77
}

stop_proxy() {
	kill -TERM $PPID_ 2>/dev/null
	wait $PPID_ 2>/dev/null
}
# wait_log NAME TEXT: until the proxy's stderr has TEXT (10 s)
wait_log() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q -- "$2" "$T/$1.err" && return 0
		sleep 0.1
	done
	return 1
}
# served_cert [SNI [PORT]]: the leaf the proxy on PORT ($LPORT) serves for SNI (www.example.test), as PEM;
# served_serial: its serial
served_cert() {
	timeout 10 openssl s_client -connect "127.0.0.1:${2:-$LPORT}" -servername "${1:-www.example.test}" </dev/null 2>/dev/null |
		openssl x509 2>/dev/null
}
served_serial() { served_cert | openssl x509 -noout -serial 2>/dev/null; }
rcli() { $PY -c 'import redis,sys; r=redis.Redis(port=int(sys.argv[1])); print(eval(sys.argv[2]))' "$RPORT" "$1"; }

# ---- peers: redis-server, an HTTP server ----
RPORT=$(freeport)
timeout 120 redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
	>"$T/redis.log" 2>&1 &
PIDS+=($!)
mkdir -p "$T/www"
echo "hello world from the server" >"$T/www/a.txt"
echo "hello world from file b" >"$T/www/b.txt"
WPORT=$(freeport)
(cd "$T/www" && exec timeout 120 $PY -m http.server "$WPORT" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	rcli 'r.ping()' >/dev/null 2>&1 && curl -s -o /dev/null "http://127.0.0.1:$WPORT/a.txt" && break
	sleep 0.1
done
rcli 'r.ping()' >/dev/null 2>&1 || {
	bad "redis-server did not start: $(cat "$T/redis.log")"
	exit 1
}

# ---- 1. stats hashes and the debug feed ----
proxy_start dbg -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --redis "redis://127.0.0.1:$RPORT" -m debug || exit 1
wait_log dbg "redis 127.0.0.1:$RPORT: connected" || bad "dbg: no 'connected' line"
timeout 15 $PY - "$RPORT" >"$T/feed.json" 2>"$T/feed.err" <<'PY' &
import base64, json, redis, sys, time
r = redis.Redis(port=int(sys.argv[1]))
p = r.pubsub()
p.psubscribe("debug:*")
print(json.dumps({"ready": 1}), flush=True)
end = time.time() + 12
s2c = b""
while time.time() < end and not s2c.endswith(b"from the server\n"):
    m = p.get_message(timeout=0.5)
    if m and m["type"] == "pmessage":
        d = json.loads(m["data"])
        if d["s2c"]:
            s2c += base64.b64decode(d["data"])
        print(json.dumps({"channel": m["channel"].decode(), "d": d}), flush=True)
PY
FEED=$!
wait_file "$T/feed.json" 100 || bad "debug subscriber did not start"
read -r sreq shdr sdl < <(timeout 10 curl -s -o "$T/got.txt" -w '%{size_request} %{size_header} %{size_download}\n' \
	"http://127.0.0.1:$LPORT/a.txt")
cmp -s "$T/got.txt" "$T/www/a.txt" && ok "curl through --redis -m debug" || bad "curl through debug: $(cat "$T/got.txt")"
wait $FEED
want=$((sreq + shdr + sdl))
for ((i = 0; i < 50; i++)); do
	st=$(rcli 'r.hgetall("stats:connections:status")')
	case $st in *"b'C'"*) break ;; esac
	sleep 0.1
done
$PY - "$RPORT" "$want" "$LPORT" <<'PY' && ok "stats hashes: $want bytes (curl: request + header + body), status C" || bad "stats hashes"
import redis, sys
r = redis.Redis(port=int(sys.argv[1])); want = int(sys.argv[2])
cb = {k.decode(): int(v) for k, v in r.hgetall("stats:connections:bytes").items()}
cp = {k.decode(): int(v) for k, v in r.hgetall("stats:connections:packets").items()}
cs = {k.decode(): v.decode() for k, v in r.hgetall("stats:connections:status").items()}
sb = {k.decode(): int(v) for k, v in r.hgetall("stats:summary:bytes").items()}
print("connections:bytes", cb, "packets", cp, "status", cs, "summary:bytes", sb)
assert len(cb) == 1 and list(cb.values()) == [want], cb
k = list(cb)[0].split(":")
assert k[0] == "127.0.0.1" and int(k[1]) > 0 and k[2] == "127.0.0.1" and k[4] == "undefined", k
assert cp[list(cb)[0]] >= 2 and cs[list(cb)[0]] == "C", (cp, cs)
assert list(sb.values()) == [want] and list(sb)[0] == ":".join([k[0], k[2], k[3], k[4], k[5]]), sb
PY
$PY - "$T/feed.json" "$T/www/a.txt" "$sreq" <<'PY' && ok "debug feed: base64 data is the request and the response" || bad "debug feed: $(cat "$T/feed.json" "$T/feed.err")"
import base64, json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if '"channel"' in l]
c2s = b"".join(base64.b64decode(m["d"]["data"]) for m in msgs if m["d"]["c2s"])
s2c = b"".join(base64.b64decode(m["d"]["data"]) for m in msgs if m["d"]["s2c"])
assert c2s.startswith(b"GET /a.txt HTTP/1.1\r\n") and len(c2s) == int(sys.argv[3]), c2s
assert s2c.startswith(b"HTTP/1.0 200") and s2c.endswith(open(sys.argv[2], "rb").read()), s2c
m = msgs[0]
assert m["channel"].startswith("debug:127.0.0.1:") and m["d"]["module"] == "debug" and m["d"]["dst"] == "127.0.0.1", m
PY
stop_proxy

# batched: 4 MiB through a proxy with --redis (no module): many chunks, a few HINCRBY
head -c 4194304 /dev/urandom >"$T/www/big.bin"
proxy_start batch -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --redis "redis://127.0.0.1:$RPORT" || exit 1
wait_log batch "connected" || bad "batch: not connected"
rcli 'r.delete("stats:connections:bytes", "stats:connections:packets", "stats:connections:status") + r.config_resetstat()' >/dev/null
timeout 20 curl -s -o "$T/big.got" "http://127.0.0.1:$LPORT/big.bin"
cmp -s "$T/big.got" "$T/www/big.bin" || bad "batch: 4 MiB differs"
for ((i = 0; i < 50; i++)); do
	case $(rcli 'r.hgetall("stats:connections:status")') in *"b'C'"*) break ;; esac
	sleep 0.1
done
$PY - "$RPORT" "$T/batch.txt" <<'PY' && ok "stats batched: $(cat "$T/batch.txt")" || bad "stats not batched: $(cat "$T/batch.txt")"
import redis, sys
r = redis.Redis(port=int(sys.argv[1]))
packets = sum(int(v) for v in r.hgetall("stats:connections:packets").values())
nbytes = sum(int(v) for v in r.hgetall("stats:connections:bytes").values())
calls = r.info("commandstats").get("cmdstat_hincrby", {}).get("calls", 0)
open(sys.argv[2], "w").write(
    "%d chunks, %d bytes counted with %d HINCRBY" % (packets, nbytes, calls))
assert nbytes > 4194304 and packets >= 16 and 0 < calls <= 16 and calls < packets / 2, (packets, nbytes, calls)
PY
stop_proxy

# ---- 2. inspect: edit a held response; a hold that times out ----
proxy_start insp -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --redis "redis://127.0.0.1:$RPORT" -m 'inspect:timeout=0.4' ||
	exit 1
wait_log insp "connected" || bad "insp: not connected"
# a client as tcpproxy's usage example: psubscribe inspect:*, debugging 1, publish each packet back on inspected:*
timeout 20 $PY - "$RPORT" >"$T/insp.log" 2>&1 <<'PY' &
import base64, json, redis, sys, time
r = redis.Redis(port=int(sys.argv[1]))
p = r.pubsub()
p.psubscribe("inspect:*")
r.set("debugging", 1)
end = time.time() + 15
while time.time() < end:
    m = p.get_message(timeout=0.5)
    if not m or m["type"] != "pmessage":
        continue
    d = json.loads(m["data"])
    data = base64.b64decode(d["data"])
    edited = d["s2c"] and b"hello world" in data
    if edited:
        data = data.replace(b"hello world", b"HELLO WORLD")
    else:  # the request: another file
        data = data.replace(b"GET /a.txt ", b"GET /b.txt ")
    d["data"] = base64.b64encode(data).decode()
    channel = m["channel"].decode().split(":")
    channel[0] = "inspected"
    if not d["s2c"]:  # as tcpproxy_cli.py answers: inspected:src:srcport:dst:dstport
        channel = channel[:5]
    r.publish(":".join(channel), json.dumps(d))
    print("edited" if edited else "passed", d["seq"], flush=True)
    if edited:
        break
PY
INSP=$!
wait_log insp "debugging on" || bad "insp: debugging not seen"
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "HELLO WORLD from file b" ] &&
	ok "inspect: the request edited (answered on inspected:src:srcport:dst:dstport, as tcpproxy_cli.py does), the response edited (on the full channel): curl got '$got'" ||
	bad "inspect: curl got '$got' ($(cat "$T/insp.log"))"
wait $INSP
# nobody answers now: each hold times out after 0.4 s and the original goes on
t0=$(date +%s%N)
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$got" = "hello world from the server" ] && [ $ms -ge 400 ] && ok "inspect: unanswered holds time out, the original arrives ($ms ms)" ||
	bad "inspect timeout: '$got' after $ms ms"
rcli 'r.set("debugging", 0)' >/dev/null
stop_proxy

# ---- 3. the CA in redis, trusted by curl through --tls-mitm ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-days 2 -subj /CN=www.example.test -addext subjectAltName=DNS:www.example.test 2>/dev/null
SPORT=$(freeport)
timeout 60 openssl s_server -accept "$SPORT" -4 -cert "$T/srv.crt" -key "$T/srv.key" -www -quiet >/dev/null 2>&1 &
PIDS+=($!)
proxy_start mitm -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --redis "redis://127.0.0.1:$RPORT" || exit 1
grep -q 'CA stored in ca:cert' "$T/mitm.err" && ok "a new CA stored in redis" || bad "mitm: $(cat "$T/mitm.err")"
rcli 'r.get("ca:cert").decode()' >"$T/ca.pem"
for ((i = 0; i < 50; i++)); do
	timeout 10 curl -s -o "$T/tls.txt" --cacert "$T/ca.pem" --resolve "www.example.test:$LPORT:127.0.0.1" \
		"https://www.example.test:$LPORT/" && break
	sleep 0.1
done
grep -q 's_server' "$T/tls.txt" && ok "curl trusts the CA read from ca:cert through the MITM" ||
	bad "curl --cacert ca:cert: $(cat "$T/mitm.err")"
for ((i = 0; i < 50; i++)); do
	rcli 'r.get("www.example.test:cert").decode()' >"$T/leaf.pem" 2>/dev/null && break
	sleep 0.1
done
openssl verify -CAfile "$T/ca.pem" "$T/leaf.pem" >/dev/null 2>&1 &&
	openssl x509 -in "$T/leaf.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'DNS:www.example.test' &&
	[ -n "$(rcli 'r.get("www.example.test:key")')" ] &&
	ok "the leaf is in www.example.test:cert (signed by ca:cert, SAN copied) and :key" ||
	bad "leaf in redis: $(cat "$T/leaf.pem")"
stored=$(openssl x509 -in "$T/leaf.pem" -noout -serial 2>/dev/null)
[ -n "$stored" ] && [ "$(served_serial)" = "$stored" ] && ok "the served leaf is the stored one ($stored)" ||
	bad "served leaf $(served_serial) != stored $stored"
stop_proxy
# a second run takes the CA and the leaf from redis: the served leaf is byte for byte the stored one
proxy_start mitm2 -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --redis "redis://127.0.0.1:$RPORT" || exit 1
grep -q 'the CA from ca:cert.*; 1 leaf certificate from HOST:cert' "$T/mitm2.err" &&
	timeout 10 curl -s -o /dev/null --cacert "$T/ca.pem" \
	--resolve "www.example.test:$LPORT:127.0.0.1" "https://www.example.test:$LPORT/" &&
	ok "the next run loads the CA and the leaf from redis" || bad "mitm2: $(cat "$T/mitm2.err")"
M2PID=$PPID_ M2PORT=$LPORT
served=$(served_cert)
[ -n "$served" ] && [ "$served" = "$(cat "$T/leaf.pem")" ] && ok "after a restart the served leaf is the stored one, byte for byte ($(served_serial))" ||
	bad "restart: served $(served_serial), stored $stored"
# a second proxy sharing the redis (the first still runs) serves the same leaf
proxy_start mitm3 -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --redis "redis://127.0.0.1:$RPORT" || exit 1
[ "$(served_cert)" = "$(cat "$T/leaf.pem")" ] && ok "a second proxy on the same redis serves the stored leaf" ||
	bad "second proxy: served $(served_serial), stored $stored"
# both run: a leaf the first makes for a new name is served by the second too (looked up as it connects)
a=$(served_cert other.example.test "$M2PORT")
for ((i = 0; i < 50; i++)); do
	rcli 'r.get("other.example.test:cert").decode()' >"$T/other.pem" 2>/dev/null && break
	sleep 0.1
done
[ -n "$a" ] && [ "$a" = "$(cat "$T/other.pem")" ] && [ "$(served_cert other.example.test)" = "$a" ] &&
	ok "a leaf one running proxy made is served by the other running one" ||
	bad "concurrent proxies: other.example.test leaves differ: $(cat "$T/mitm3.err")"
stop_proxy
PPID_=$M2PID
stop_proxy
# a stored leaf of another CA is not served: made again and replaced
rcli "r.set('www.example.test:cert', open('$T/srv.crt').read()) and r.set('www.example.test:key', open('$T/srv.key').read())" >/dev/null
proxy_start mitm4 -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --redis "redis://127.0.0.1:$RPORT" || exit 1
grep -q 'not this CA' "$T/mitm4.err" && timeout 10 curl -s -o /dev/null --cacert "$T/ca.pem" \
	--resolve "www.example.test:$LPORT:127.0.0.1" "https://www.example.test:$LPORT/" &&
	ok "a stored leaf of another CA is made again ($(grep -o '[0-9]* leaf.*' "$T/mitm4.err"))" ||
	bad "mitm4: $(cat "$T/mitm4.err")"
for ((i = 0; i < 50; i++)); do
	rcli 'r.get("www.example.test:cert").decode()' >"$T/leaf4.pem" 2>/dev/null
	openssl verify -CAfile "$T/ca.pem" "$T/leaf4.pem" >/dev/null 2>&1 && break
	sleep 0.1
done
[ "$(served_cert)" = "$(cat "$T/leaf4.pem")" ] && ok "... and stored in its place" || bad "mitm4: not replaced"
stop_proxy

# ---- 4. rules: file, file changed, PUT /rules, the redis key ----
cat >"$T/rules.json" <<EOF
[{"dstport": "1-2,$WPORT", "s2c": true, "c2s": false, "rules": ["replace:search=world:replace=PORTS"]},
 {"dstport": "1-10", "rules": ["reset"]}]
EOF
proxy_start rules -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --rules "$T/rules.json" --http 127.0.0.1:0 || exit 1
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "hello PORTS from the server" ] && ok "rules file: by dstport: $got" || bad "rules by dstport: '$got'"
cat >"$T/rules2.json" <<'EOF'
[{"rules": ["peek_httphost"], "s2c": false},
 {"hostname": "^a\\.test$", "rules": ["replace:search=world:replace=HOSTS"]}]
EOF
mv "$T/rules2.json" "$T/rules.json"
got=$(timeout 10 curl -s -H 'Host: a.test' "http://127.0.0.1:$LPORT/a.txt")
got2=$(timeout 10 curl -s -H 'Host: b.test' "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "hello HOSTS from the server" ] && [ "$got2" = "hello world from the server" ] &&
	ok "rules file changed: by hostname from peek_httphost (a.test: $got; b.test unchanged)" ||
	bad "rules by hostname: '$got' / '$got2' ($(cat "$T/rules.err"))"
grep -q "rules: 2 from $T/rules.json" "$T/rules.err" && ok "the changed file was read again" || bad "no re-read note"
code=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
	--data '[{"dstport": 9, "rules": ["replace:search=a:replace=b"]}, {"rules": ["replace:search=world:replace=PUTRL"]}]' \
	"http://127.0.0.1:$HPORT/rules")
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
rules=$(curl -s "http://127.0.0.1:$HPORT/rules")
[ "$code" = 200 ] && [ "$got" = "hello PUTRL from the server" ] && echo "$rules" | grep -q '"dstport":"9"' &&
	ok "PUT /rules: in force for the next connection; GET /rules: $rules" || bad "PUT /rules: $code '$got' $rules"
code=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
	--data '[{"rules": ["nosuchmod"]}]' "http://127.0.0.1:$HPORT/rules")
[ "$code" = 400 ] && grep -q "PUT /rules: rule 1: module 'nosuchmod' does not exist" "$T/put.json" &&
	ok "PUT /rules with an unknown module: 400 $(cat "$T/put.json")" || bad "bad PUT: $code $(cat "$T/put.json")"
stop_proxy
proxy_start rk -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --redis "redis://127.0.0.1:$RPORT" || exit 1
rcli "r.set('rules', '[{\"dstport\": \"$WPORT\", \"rules\": [\"replace:search=world:replace=REDIS\"]}]')" >/dev/null
wait_log rk "1 rules from key 'rules'" || bad "rk: rules key not seen: $(cat "$T/rk.err")"
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "hello REDIS from the server" ] && ok "rules from the redis key: $got" || bad "redis rules: '$got'"
rcli "r.set('rules', '[{\"rules\": [\"nosuchmod\"]}]')" >/dev/null
wait_log rk "redis key 'rules': rule 1: module 'nosuchmod' does not exist" && ok "a bad redis key rules: one line, kept" ||
	bad "bad redis rules: $(cat "$T/rk.err")"
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "hello REDIS from the server" ] && ok "the rules in force stay" || bad "after a bad key: '$got'"
# a SET followed at once by a connection: that connection has the new rules (no polling window); 5 times
$PY - "$RPORT" "$LPORT" "$WPORT" >"$T/setget.txt" 2>&1 <<'PY'
import json, redis, sys, urllib.request
r = redis.Redis(port=int(sys.argv[1]))
for w in ["ALPHA", "BRAVO", "DELTA", "GAMMA", "OMEGA"]:  # as long as "world" (Content-Length)
    r.set("rules", json.dumps([{"dstport": sys.argv[3], "rules": ["replace:search=world:replace=" + w]}]))
    body = urllib.request.urlopen("http://127.0.0.1:%s/a.txt" % sys.argv[2], timeout=10).read().decode()
    print(w, body.strip())
PY
n=$(grep -c '^\([A-Z]*\) hello \1 from the server$' "$T/setget.txt")
[ "$n" = 5 ] && ok "SET rules then connect at once: the connection has the new rules (5 of 5)" ||
	bad "SET then connect: $n of 5: $(cat "$T/setget.txt")"
rcli 'r.delete("rules")' >/dev/null
stop_proxy

# ---- 5. bad input ----
echo '[{"dstport": "80", "rules": ["log"]}, {"dstport": "99999", "rules": []}]' >"$T/bad.json"
"$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --rules "$T/bad.json" >/dev/null 2>"$T/bad.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q "bad.json: rule 2: dstport: '99999' is not a port list" "$T/bad.err" &&
	ok "bad rule file: exit 2, $(cat "$T/bad.err")" || bad "bad rule file: $rc $(cat "$T/bad.err")"
echo '[{"rules": ["log"]' >"$T/bad.json"
"$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --rules "$T/bad.json" >/dev/null 2>"$T/bad.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q "bad.json:[0-9]*:[0-9]*: " "$T/bad.err" &&
	ok "rule file that is not JSON: exit 2, $(cat "$T/bad.err")" || bad "not JSON: $rc $(cat "$T/bad.err")"
echo '[{"rules": ["log", "nosuchmod:x=1"]}]' >"$T/bad.json"
"$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --rules "$T/bad.json" >/dev/null 2>"$T/bad.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q "bad.json: rule 1: module 'nosuchmod' does not exist" "$T/bad.err" &&
	ok "unknown module in a rule: exit 2, $(cat "$T/bad.err")" || bad "unknown module: $rc $(cat "$T/bad.err")"
"$UMPA" proxy -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --redis "http://x" >/dev/null 2>"$T/bad.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && ok "bad --redis URL: exit 2, $(cat "$T/bad.err")" ||
	bad "bad url: $rc $(cat "$T/bad.err")"
DEAD=$(freeport)
proxy_start dead -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --redis "redis://127.0.0.1:$DEAD" -m debug || exit 1
wait_log dead "redis 127.0.0.1:$DEAD: .*going on without it" || bad "dead: no line: $(cat "$T/dead.err")"
got=$(timeout 10 curl -s "http://127.0.0.1:$LPORT/a.txt")
sleep 0.6 # two retries more: still one line
n=$(grep -c "redis 127.0.0.1:$DEAD" "$T/dead.err")
[ "$got" = "hello world from the server" ] && [ "$n" = 1 ] &&
	ok "unreachable redis: one line, the proxy relays on ($(grep "redis 127" "$T/dead.err"))" ||
	bad "unreachable redis: '$got', $n lines: $(cat "$T/dead.err")"
stop_proxy

exit $fail
