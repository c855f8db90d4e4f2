#!/usr/bin/env bash
# proxy.sh - `umpa proxy` on loopback with real peers (curl, python3's http.server, asyncio echo servers).
#  1. curl through two listeners to python3 -m http.server: a 3 MB file arrives with its SHA-256;
#     peek_httphost + log: the JSON line names the host and carries the request in base64.
#  2. replace on s2c: the bytes curl receives are changed.
#  3. 100 concurrent connections through a module chain to an echo server, each sending 256 KiB
#     and half-closing: every echo back has the right SHA-256.
#  4. a module that fails on one connection, a client that vanishes (RST) mid-stream: those end
#     (counted: errors, aborted), the load running at the same time is intact.
#  5. an upstream that refuses: that connection is counted refused, the proxy goes on.
#  6. backpressure: a client that reads nothing for 1.5 s while the server pushes 32 MiB: the
#     proxy's RSS stays under 40 MB, then every byte arrives.
#  7. reset module: curl sees the connection reset.  SIGTERM: exit 0 with the summary.
#  8. bad input: unknown module, bad option, bad address: one line, exit 2.
#  9. TLS man-in-the-middle to `openssl s_server -www` (a certificate for www.example.test and
#     alt.example.test): curl --cacert with the proxy's CA and SNI alt.example.test, TLS 1.3 and
#     1.2, both verify; the CA key is mode 0600 and kept across runs; the module sees plaintext
#     (a module replacing within whole lines, proxy.lines, changes the page curl gets); the key log (0600) holds the secrets of both legs
#     (a client random per leg); --upstream-verify with the wrong CA fails the handshake
#     and only that connection.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
PEER="python3 $top_srcdir/tests/proxy/peer.py"
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init proxy curl python3 sha256sum timeout

# stop_proxy NAME: SIGTERM, exit status 0, the summary line
stop_proxy() { # NAME: proxy_stop, and the summary line must be there
	proxy_stop "$1"
	[ -n "$SUMMARY" ] || bad "$1: no summary: $(cat "$T/$1.err")"
}

# ---- peers ----
mkdir -p "$T/www"
head -c 3000000 /dev/urandom >"$T/www/big.bin"
echo "hello world from the server" >"$T/www/a.txt"
WPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$T/www" && exec timeout 60 python3 -m http.server "$WPORT" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
$PEER echo "$T/echo.port" 60 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null "http://127.0.0.1:$WPORT/a.txt" && break
	sleep 0.1
done
wait_file "$T/echo.port" || bad "echo server did not start"
EPORT=$(cat "$T/echo.port")

# ---- 1, 2: curl, two listeners, peek_httphost + log, replace ----
proxy_start http -l 127.0.0.1:0 -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --c2s peek_httphost,log \
	--s2c 'replace:search=world:replace=W\x4fRLD' || exit 1
want=$(sha256sum <"$T/www/big.bin")
for p in "${LPORT[@]}"; do
	got=$(timeout 30 curl -s "http://127.0.0.1:$p/big.bin" | sha256sum)
	[ "$got" = "$want" ] && ok "3 MB through listener $p, SHA-256 equal" || bad "3 MB through listener $p: SHA-256 differs"
done
got=$(timeout 30 curl -s -H 'Host: example.test:8080' "http://127.0.0.1:${LPORT[0]}/a.txt")
[ "$got" = "hello WORLD from the server" ] && ok "replace changed what curl got: $got" || bad "replace: curl got '$got'"
line=$(grep '"hostname":"example.test"' "$T/http.out" | head -1)
if [ -n "$line" ] && echo "$line" | python3 -c '
import json, sys, base64
d = json.loads(sys.stdin.read())
req = base64.b64decode(d["data"])
assert req.startswith(b"GET /a.txt HTTP/1.1\r\n"), req
assert d["direction"] == "c2s" and d["tags"] == ["http"] and len(d["hash"]) == 8 and d["dstport"] > 0
'; then ok "log: JSON line with hostname example.test, tag http, the request in base64"; else bad "log line: '$line'"; fi
stop_proxy http
echo "$SUMMARY" | grep -q '3 connections: 3 done' && ok "summary: $SUMMARY" || bad "summary: $SUMMARY"

# ---- 3, 4: load, a failing module, a vanishing client ----
cat >"$T/boom.lua" <<'LUA'
return {
	help = "fails on a chunk that contains BOOM",
	new = function(opts, incoming)
		return {execute = function(data)
			if data:find("BOOM", 1, true) then error("found BOOM") end
			return data
		end}
	end,
}
LUA
proxy_start load -l 127.0.0.1:0 -t 127.0.0.1:$EPORT --module-file "$T/boom.lua" -m 'boom,stats' || exit 1
$PEER load ${LPORT[0]} 100 262144 >"$T/load.txt" 2>&1 &
LOADPID=$!
printf 'xxBOOMxx' | timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
print("closed" if s.recv(100) == b"" else "open")' ${LPORT[0]} >"$T/boom.txt" 2>&1
$PEER vanish ${LPORT[0]} >"$T/vanish.txt" 2>&1
wait $LOADPID
cat "$T/load.txt"
grep -q '^ok 100$' "$T/load.txt" && ok "100 concurrent connections, 256 KiB each way, SHA-256 equal" || bad "load"
[ "$(cat "$T/boom.txt")" = closed ] && ok "the failing module's connection was closed" || bad "boom: $(cat "$T/boom.txt")"
grep -q "module 'boom': .*found BOOM" "$T/load.err" && ok "the module's error is logged" || bad "no module error: $(cat "$T/load.err")"
grep -q vanished "$T/vanish.txt" || bad "vanish: $(cat "$T/vanish.txt")"
stop_proxy load
echo "$SUMMARY" | grep -q '102 connections: 100 done, 1 aborted, 0 refused, 0 reset, 1 errors' &&
	ok "summary: $SUMMARY" || bad "summary: $SUMMARY"
n=$(grep -c 's2c 1 chunks\|s2c [0-9]* chunks, 262144 bytes' "$T/load.out")
[ "$n" -ge 100 ] && ok "stats module: $n s2c totals of 262144 bytes" || bad "stats module: $n totals"

# ---- 5: refused upstream ----
CPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
proxy_start refused -l 127.0.0.1:0 -t 127.0.0.1:$CPORT || exit 1
timeout 10 curl -s "http://127.0.0.1:${LPORT[0]}/" >/dev/null && bad "curl succeeded against a closed upstream"
timeout 10 curl -s "http://127.0.0.1:${LPORT[0]}/" >/dev/null
stop_proxy refused
echo "$SUMMARY" | grep -q '2 connections: 0 done, 0 aborted, 2 refused' && ok "refused upstream: $SUMMARY" || bad "$SUMMARY"
grep -q "upstream 127.0.0.1:$CPORT: Connection refused" "$T/refused.err" && ok "refusal logged" || bad "$(cat "$T/refused.err")"

# ---- 6: backpressure ----
$PEER push "$T/push.port" 60 32 &
PIDS+=($!)
wait_file "$T/push.port" || bad "push server did not start"
proxy_start bp -l 127.0.0.1:0 -t 127.0.0.1:$(cat "$T/push.port") || exit 1
$PEER stall ${LPORT[0]} 1.5 >"$T/stall.txt" &
STALL=$!
sleep 1
rss=$(awk '/VmRSS/ {print $2}' /proc/$PPID_/status)
wait $STALL
[ "$(cat "$T/stall.txt")" = $((32 << 20)) ] && ok "32 MiB arrived after the stall" || bad "stall: $(cat "$T/stall.txt") bytes"
[ "$rss" -lt 40000 ] && ok "RSS while the client stalled: $rss kB" || bad "RSS while stalled: $rss kB (unbounded buffering?)"
stop_proxy bp

# ---- 7: reset ----
proxy_start reset -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --c2s reset:match=GET || exit 1
timeout 10 curl -s "http://127.0.0.1:${LPORT[0]}/a.txt" >/dev/null
rc=$?
[ $rc = 56 ] && ok "reset module: curl saw the reset (exit 56)" || bad "reset module: curl exit $rc"
stop_proxy reset
echo "$SUMMARY" | grep -q '1 reset' && ok "summary counts the reset" || bad "$SUMMARY"

# ---- delay: the request waits 0.4 s, the answer is intact ----
proxy_start delay -l 127.0.0.1:0 -t 127.0.0.1:$WPORT --c2s delay:seconds=0.4 || exit 1
t=$(timeout 10 curl -s -o "$T/delayed.txt" -w '%{time_total}' "http://127.0.0.1:${LPORT[0]}/a.txt")
if python3 -c "import sys; sys.exit(0 if float('$t') >= 0.4 else 1)" && cmp -s "$T/delayed.txt" "$T/www/a.txt"; then
	ok "delay module: curl took $t s, the answer intact"
else
	bad "delay module: $t s"
fi
stop_proxy delay

# ---- 8: bad input ----
check_usage() { # WANT-TEXT ARGS...
	local want=$1 out rc
	shift
	out=$("$UMPA" proxy "$@" 2>&1)
	rc=$?
	if [ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -qF -- "$want"; then
		ok "$* -> $out"
	else
		bad "$*: exit $rc: $out"
	fi
}
check_usage "module 'nope' does not exist" -l 127.0.0.1:0 -t 127.0.0.1:1 -m nope
check_usage "module 'replace': unknown option 'x'" -l 127.0.0.1:0 -t 127.0.0.1:1 -m replace:x=1
check_usage "module 'delay': seconds" -l 127.0.0.1:0 -t 127.0.0.1:1 -m delay:seconds=-1
check_usage "bad port" -l 127.0.0.1:70000 -t 127.0.0.1:1
check_usage "-t HOST:PORT is required" --udp -l 127.0.0.1:0
check_usage "module 'x' does not exist" --help-module x

# ---- 9: TLS man-in-the-middle ----
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
		-subj "/CN=www.example.test" -addext "subjectAltName=DNS:www.example.test,DNS:alt.example.test" -days 2 2>/dev/null
	SPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	timeout 60 openssl s_server -accept 127.0.0.1:$SPORT -cert "$T/srv.crt" -key "$T/srv.key" -www -quiet >/dev/null 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		timeout 5 openssl s_client -connect 127.0.0.1:$SPORT </dev/null >/dev/null 2>&1 && break
		sleep 0.1
	done
	# the page's text may come in any cut of TLS records and reads: the module sees whole lines (proxy.lines)
	cat >"$T/linereplace.lua" <<'EOF'
return {help = "replace a text within whole lines", options = {},
	new = function()
		return proxy.lines(function(line) return proxy.replace(line, "Ciphers supported", "CIPHERS VIA UMPA") end)
	end}
EOF
	proxy_start mitm -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --ca-dir "$T/ca" --keylog "$T/keys.txt" \
		--module-file "$T/linereplace.lua" --s2c linereplace --c2s log || exit 1
	for v in "--tlsv1.3" "--tlsv1.2 --tls-max 1.2"; do
		got=$(timeout 20 curl -sS $v --cacert "$T/ca/ca.crt" --resolve alt.example.test:${LPORT[0]}:127.0.0.1 \
			"https://alt.example.test:${LPORT[0]}/" 2>&1)
		if echo "$got" | grep -q 'CIPHERS VIA UMPA'; then
			ok "curl $v --cacert through the MITM: verified, the page changed by the module"
		else
			bad "curl $v through the MITM: $(echo "$got" | head -3)"
		fi
	done
	[ "$(stat -c %a "$T/ca/ca.key")" = 600 ] && ok "CA key mode 0600" || bad "CA key mode $(stat -c %a "$T/ca/ca.key")"
	[ "$(stat -c %a "$T/keys.txt")" = 600 ] && ok "key log mode 0600" || bad "key log mode $(stat -c %a "$T/keys.txt")"
	n13=$(awk '$1 == "CLIENT_TRAFFIC_SECRET_0" {print $2}' "$T/keys.txt" | sort -u | wc -l)
	n12=$(awk '$1 == "CLIENT_RANDOM" {print $2}' "$T/keys.txt" | sort -u | wc -l)
	# legs negotiate on their own: curl --tls-max 1.2 makes the client leg TLS 1.2, the upstream leg stays 1.3
	[ "$n13" = 3 ] && [ "$n12" = 1 ] && ok "key log: both legs of both connections (3 TLS 1.3 legs, 1 TLS 1.2 leg)" ||
		bad "key log: $n13 TLS 1.3 and $n12 TLS 1.2 client randoms (want 3 and 1)"
	if grep '"hostname":"alt.example.test"' "$T/mitm.out" | grep '"tags":\["tls"\]' | head -1 | python3 -c '
import json, sys, base64
d = json.loads(sys.stdin.read())
assert base64.b64decode(d["data"]).startswith(b"GET / HTTP/1.1\r\n")'; then
		ok "log in the MITM: plaintext request, hostname from the SNI, tag tls"
	else
		bad "log in the MITM: $(head -c 300 "$T/mitm.out")"
	fi
	stop_proxy mitm
	echo "$SUMMARY" | grep -q 'tls 2 (0 failed, 1 certificates made,' && ok "MITM summary: $SUMMARY" || bad "$SUMMARY"
	cp "$T/ca/ca.crt" "$T/ca1.crt"
	# kept CA; upstream verification with the wrong trust fails that handshake only
	proxy_start mitm2 -l 127.0.0.1:0 -t 127.0.0.1:$SPORT --tls-mitm --ca-dir "$T/ca" --upstream-verify \
		--upstream-ca "$T/ca1.crt" || exit 1
	cmp -s "$T/ca/ca.crt" "$T/ca1.crt" && grep -q 'ca.crt loaded' "$T/mitm2.err" && ok "the CA was kept" || bad "CA not kept"
	timeout 20 curl -s --cacert "$T/ca/ca.crt" --resolve alt.example.test:${LPORT[0]}:127.0.0.1 \
		"https://alt.example.test:${LPORT[0]}/" >/dev/null && bad "curl succeeded though the upstream does not verify"
	got=$(timeout 20 curl -s "http://127.0.0.1:$WPORT/a.txt")
	stop_proxy mitm2
	grep -q 'upstream .*certificate verify failed' "$T/mitm2.err" && echo "$SUMMARY" | grep -q 'tls 1 (1 failed' &&
		ok "--upstream-verify: the unverified server's connection failed: $(grep 'verify failed' "$T/mitm2.err")" ||
		bad "upstream verify: $(cat "$T/mitm2.err")"
fi
exit $fail
