#!/usr/bin/env bash
# proxy_more.sh - `umpa proxy` on loopback: the module redirect, the framing helpers with a client that sends
# one byte per segment, SOCKS5 bad requests, bad command lines.
#  1. redirect: -t names server A, -m redirect:host=localhost:port=B sends the connection to server B (the
#     name resolved on the loop): curl gets B's page, the log module shows tag "redirected" and B's port;
#     a redirect to a closed port: curl fails, the summary counts it refused.
#  2. framing, each against python3's echo server (tests/proxy/peer.py echo) with a client that sends every
#     byte in a segment of its own (tests/proxy/frame_client.py): proxy.lines reverses whole lines (and
#     the last one, without "\n", at the end of the stream); proxy.length_prefixed (2-byte big-endian
#     lengths) replaces a body by a longer one and the length follows; proxy.http turns a chunked POST into
#     one with a Content-Length and an upper-cased body.  The stats module ahead of each shows the bytes
#     came in many chunks.  proxy.http on s2c: curl gets a changed body with a right Content-Length.
#  3. SOCKS5 bad requests on loopback: a BIND gets reply 7, garbage after a good greeting gets reply 1, an
#     empty connection ends; the proxy goes on serving curl --socks5; stopped at once, it counts that
#     connection done.  A stop while a connection closes (its server answers, then closes 0.3 s later;
#     curl has gone): the connection finishes first and is counted done, not open at stop.
#  4. bad input: bad -l values, unknown modules for --c2s/--s2c, a redirect with a bad port, certificates
#     that do not load (CA, static certificate, upstream CA, client certificate), --socks5 with -t,
#     --socks5-auth without --socks5 or without a colon, --tproxy with -t, --tproxy without CAP_NET_ADMIN:
#     one line each, exit 2 (usage, and every certificate file named on the command line that does not load)
#     or 1 (a missing privilege), never a crash.
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
. "$top_srcdir/tests/proxy/lib.sh"
proxy_test_init proxymore curl python3 timeout
SRC=$(cd "$top_srcdir" && pwd)


# ---- servers: A and B (python3's http.server), an echo server ----
for s in A B; do
	mkdir -p "$T/www$s"
	echo "server $s" >"$T/www$s/a.txt"
	eval "P$s=$(freeport)"
	port=P$s
	(cd "$T/www$s" && exec timeout 60 python3 -m http.server "${!port}" --bind 127.0.0.1) >/dev/null 2>&1 &
	PIDS+=($!)
done
python3 "$SRC/tests/proxy/peer.py" echo "$T/echo.port" 60 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null "http://127.0.0.1:$PA/a.txt" && curl -s -o /dev/null "http://127.0.0.1:$PB/a.txt" && break
	sleep 0.1
done
wait_file "$T/echo.port" || bad "echo server did not start"
EPORT=$(cat "$T/echo.port")

# ---- 1: redirect ----
proxy_start redir -l 127.0.0.1:0 -t 127.0.0.1:$PA -m "redirect:host=localhost:port=$PB,log" -v || exit 1
got=$(timeout 20 curl -s "http://127.0.0.1:$LPORT/a.txt")
[ "$got" = "server B" ] && ok "redirect: curl to the proxy of A got B's page" || bad "redirect: curl got '$got'"
proxy_stop redir
grep -q "redirected to 127.0.0.1:$PB" "$T/redir.err" && grep -q "\"dstport\":$PB,.*\"tags\":\[\"redirected\"\]" "$T/redir.out" &&
	ok "redirect: logged, the connection tagged redirected with B's port" || bad "redirect: $(cat "$T/redir.err")"
CLOSED=$(freeport)
proxy_start redir2 -l 127.0.0.1:0 -t 127.0.0.1:$PA -m "redirect:port=$CLOSED" || exit 1
timeout 20 curl -s "http://127.0.0.1:$LPORT/a.txt" >/dev/null && bad "redirect to a closed port: curl succeeded"
proxy_stop redir2
echo "$SUMMARY" | grep -q '1 connections: 0 done, 0 aborted, 1 refused' && grep -q "upstream 127.0.0.1:$CLOSED: Connection refused" "$T/redir2.err" &&
	ok "redirect to a closed port: refused, counted" || bad "redirect to a closed port: $SUMMARY"

# ---- 2: framing, one byte per segment ----
cat >"$T/frames.lua" <<'LUA'
return {
	help = "framing helpers under test",
	options = {mode = "lines, len or http"},
	new = function(opts, incoming)
		if opts.mode == "lines" then
			return proxy.lines(function(line) return line:reverse() end)
		elseif opts.mode == "len" then
			return proxy.length_prefixed(function(body) return body == "ping" and "PONG!!" or body end, {size = 2})
		end
		return proxy.http(function(head, body) return head, body:upper() .. (incoming and "!" or "") end)
	end,
}
LUA
frame() { # MODE INPUT(printf) WANT(printf)
	printf "$2" >"$T/in.bin"
	printf "$3" >"$T/want.bin"
	proxy_start "f$1" -l 127.0.0.1:0 -t 127.0.0.1:$EPORT --module-file "$T/frames.lua" --c2s "stats,frames:mode=$1" || return
	timeout 30 python3 "$SRC/tests/proxy/frame_client.py" $LPORT "$T/in.bin" "$T/got.bin" 0.004
	proxy_stop "f$1"
	chunks=$(sed -n 's/.*c2s \([0-9]*\) chunks.*/\1/p' "$T/f$1.out" | head -1)
	if cmp -s "$T/got.bin" "$T/want.bin" && [ "${chunks:-0}" -ge 4 ]; then
		ok "framing $1: $(wc -c <"$T/in.bin") bytes in $chunks chunks, whole messages transformed"
	else
		bad "framing $1: got '$(od -c "$T/got.bin" | head -3)' in ${chunks:-?} chunks"
	fi
}
frame lines 'hello\r\nworld\nno end' 'olleh\r\ndlrow\ndne on'
frame len '\0\4ping\0\5hello' '\0\6PONG!!\0\5hello'
frame http 'POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' \
	'POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nABCDE'
proxy_start fhttp -l 127.0.0.1:0 -t 127.0.0.1:$PA --module-file "$T/frames.lua" --s2c "frames:mode=http" || exit 1
got=$(timeout 20 curl -sS "http://127.0.0.1:$LPORT/a.txt" 2>&1)
[ "$got" = "SERVER A
!" ] && ok "proxy.http on s2c: curl got the changed body, its Content-Length right" || bad "proxy.http s2c: '$got'"
proxy_stop fhttp

# ---- 3: SOCKS5 bad requests on loopback ----
proxy_start socks -l 127.0.0.1:0 --socks5 || exit 1
printf 'raw 050100 05020001000000000000\nraw 050100 ffffffffffffffffffff\n' |
	timeout 30 python3 "$SRC/tests/proxy/socks_client.py" 127.0.0.1 $LPORT batch >"$T/sc.txt" 2>&1
got=$(sed -n 1p "$T/sc.txt")
[ "$got" = "method 0 rep 7 eof" ] && ok "SOCKS5 BIND: reply 7" || bad "SOCKS5 BIND: '$got'"
got=$(sed -n 2p "$T/sc.txt")
[ "$got" = "method 0 rep 1 eof" ] && ok "SOCKS5 garbage request: reply 1" || bad "SOCKS5 garbage: '$got'"
python3 -c "import socket; socket.create_connection(('127.0.0.1', $LPORT), 5).close()"
got=$(timeout 20 curl -s --socks5 127.0.0.1:$LPORT "http://127.0.0.1:$PB/a.txt")
[ "$got" = "server B" ] && ok "SOCKS5: curl --socks5 works after the bad requests" || bad "SOCKS5 after bad: '$got'"
# stopped at once: the client's end of stream that arrived just before the stop counts the connection done
proxy_stop socks
echo "$SUMMARY" | grep -q '4 connections: 1 done.*; 3 rejected' && ok "SOCKS5 summary: 1 done, 3 rejected" || bad "$SUMMARY"
# a server that answers, then closes 0.3 s later; curl has its bytes (Content-Length) and goes; the proxy is
# stopped at once: the connection, closing (the client's end read, the server's due), finishes and is done
SLOW=$(freeport)
timeout 20 python3 - "$SLOW" "$T/slow.ready" <<'PY' &
import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(1)
open(sys.argv[2], "w").write("1")
c, _ = l.accept()
c.recv(4096)
c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nslow\n")
time.sleep(0.3)
c.close()
PY
PIDS+=($!)
wait_file "$T/slow.ready" || bad "the slow server did not start"
proxy_start slow -l 127.0.0.1:0 -t 127.0.0.1:$SLOW || exit 1
got=$(timeout 20 curl -s "http://127.0.0.1:$LPORT/")
proxy_stop slow
[ "$got" = slow ] && echo "$SUMMARY" | grep -q '1 connections: 1 done.*, 0 open at stop' &&
	ok "stop while a connection closes: it finishes first ($SUMMARY)" || bad "stop while closing: '$got' $SUMMARY"

# ---- 4: bad input ----
check_bad() { # RC WANT-TEXT ARGS...: exit RC, one line (the CA note aside) containing WANT-TEXT
	local want_rc=$1 want=$2 out rc
	shift 2
	out=$(timeout 10 "$UMPA" proxy "$@" --duration 1 2>&1 | grep -v '^umpa: proxy: CA .* \(made\|loaded\)$')
	rc=${PIPESTATUS[0]}
	if [ "$rc" = "$want_rc" ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -qF -- "$want"; then
		ok "exit $rc: $out"
	else
		bad "$*: exit $rc (want $want_rc): $out"
	fi
}
check_bad 2 "'nonsense' is not ADDR:PORT" -l nonsense -t 127.0.0.1:1
check_bad 2 "'[::1' is not [ADDR]:PORT" -l '[::1' -t 127.0.0.1:1
check_bad 2 "'host.name': not a numeric address" -l host.name:80 -t 127.0.0.1:1
check_bad 2 "bad port (0 to 65535)" -l 127.0.0.1:-1 -t 127.0.0.1:1
check_bad 2 "empty address" -l '' -t 127.0.0.1:1
check_bad 2 "at most 16 listening addresses" $(for i in $(seq 17); do echo -l 127.0.0.1:0; done) -t 127.0.0.1:1
check_bad 2 "module 'nope' does not exist" -l 127.0.0.1:0 -t 127.0.0.1:1 --c2s hexdump,nope
check_bad 2 "module 'nada' does not exist" -l 127.0.0.1:0 -t 127.0.0.1:1 --s2c nada
check_bad 2 "port: '0' is not 1 to 65535" -l 127.0.0.1:0 -t 127.0.0.1:1 -m redirect:port=0
check_bad 2 "--socks5 takes no -t" -l 127.0.0.1:0 -t 127.0.0.1:1 --socks5
check_bad 2 "--socks5-auth needs --socks5" -l 127.0.0.1:0 -t 127.0.0.1:1 --socks5-auth a:b
check_bad 2 "'nocolon' is not USER:PASS" -l 127.0.0.1:0 --socks5 --socks5-auth nocolon
check_bad 2 "--tproxy is transparent: it takes no -t" -l 127.0.0.1:0 -t 127.0.0.1:1 --tproxy
check_bad 2 "--spoof-source takes no -s" -l 127.0.0.1:0 -t 127.0.0.1:1 -s 127.0.0.1 --spoof-source
mkdir -p "$T/badca"
echo "not a certificate" >"$T/badca/ca.crt"
echo "not a key" >"$T/badca/ca.key"
echo "not a certificate" >"$T/junk.pem"
check_bad 2 "--ca-dir: $T/badca/ca.crt" -l 127.0.0.1:0 -t 127.0.0.1:1 --tls-mitm --ca-dir "$T/badca"
check_bad 2 "static-cert: $T/junk.pem: no PEM certificate in it" -l 127.0.0.1:0 -t 127.0.0.1:1 --tls-mitm \
	--ca-dir "$T/ca" --static-cert "x.test=$T/junk.pem"
check_bad 2 "upstream-ca: '$T/junk.pem': cannot load the certificates" -l 127.0.0.1:0 -t 127.0.0.1:1 --tls-mitm \
	--ca-dir "$T/ca" --upstream-verify --upstream-ca "$T/junk.pem"
check_bad 2 "client_cert: cannot read certificate '$T/junk.pem'" -l 127.0.0.1:0 -t 127.0.0.1:1 --tls-mitm \
	--ca-dir "$T/ca" --upstream-tls client_cert="$T/junk.pem" --upstream-tls client_key="$T/junk.pem"
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && runuser -u nobody -- test -x "$UMPA"; then # --tproxy, no CAP_NET_ADMIN
	out=$(runuser -u nobody -- "$UMPA" proxy -l 127.0.0.1:0 --tproxy --duration 1 2>&1)
	rc=$?
	[ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q 'needs CAP_NET_ADMIN' &&
		ok "exit 1: $out" || bad "--tproxy as nobody: exit $rc: $out"
fi

exit $fail
