#!/usr/bin/env bash
# bench_mitm.sh - TLS man-in-the-middle: `umpa proxy --tls-mitm` against mitmproxy (mitmdump, reverse
# mode to an https upstream) and sslsplit (ssl proxyspec to a static target), same run, same machine,
# loopback.  The upstreams have a P-256 certificate; every proxy forges its leaves
# with a P-256 key from a P-256 CA (umpa's own; the same kind of CA and leaf key given to the others),
# and the client speaks TLS 1.2 (sslsplit 0.5 has no TLS 1.3), so all do the same public-key work:
#   handshakes/s: P concurrent `openssl s_time -new -tls1_2` for SECONDS, each connection a new full
#   handshake on the client's leg; the sum of connections over real time.  Upstream: haproxy
#   terminating TLS (`openssl s_server` handles one connection at a time: too slow a ceiling)
#   throughput: `curl -k` downloads a MB-MiB file from `openssl s_server -WWW` through each, Mbit/s
#   (mitmproxy with stream_large_bodies=1m, as its documentation advises for big bodies: by default
#   it holds a whole body before passing it on)
# "direct" is the same client against the upstream itself: the ceiling the upstream allows.
# The clients, the upstream and the proxy share the machine's cores, so wall-clock rates are capped by the
# clients and the upstream (a proxy can never pass "direct").  So each proxy's own CPU time in each phase is
# measured too (utime+stime from /proc/PID/stat of its process, all its threads, and its living descendants:
# sslsplit runs a worker process of several threads under a privileged parent), and the work per CPU-second:
# handshakes per proxy CPU-second, Mbit per proxy CPU-second.
# umpa-up12 is umpa with its upstream leg held to TLS 1.2 (--upstream-tls version=1.2), as sslsplit 0.5's
# is: a resumed TLS 1.2 leg needs no key exchange, a resumed TLS 1.3 one does (and OpenSSL 3.0 copies the
# session for each ticket); the ratios are umpa's defaults.
# Prints each figure and umpa's ratios by both measures.  Not a test: nothing fails for being slow.
# Usage: tests/bench/bench_mitm.sh [UMPA] [SECONDS] [P] [MB]
set -uo pipefail
UMPA=${1:-./umpa}
S=${2:-5}
P=${3:-4}
MB=${4:-256}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_init bench_mitm openssl mitmdump sslsplit haproxy curl python3

# the upstream, its certificate, and the CA and leaf key the other proxies get
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.crt" \
	-subj /CN=www.example.test -addext subjectAltName=DNS:www.example.test -days 3 >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" \
	-subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-days 3 >/dev/null 2>&1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/leaf.key" 2>/dev/null
mkdir -p "$T/www" "$T/mitm"
head -c $((MB << 20)) /dev/urandom >"$T/www/big.bin"
cat "$T/ca.key" "$T/ca.crt" >"$T/mitm/mitmproxy-ca.pem"
cat "$T/srv.crt" "$T/srv.key" >"$T/srv.pem"
HP=$(freeport)
printf 'global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nfrontend f\n  bind 127.0.0.1:%s ssl crt %s\n  http-request return status 200 content-type text/plain string ok\n' \
	$HP "$T/srv.pem" >"$T/hs.cfg"
haproxy -f "$T/hs.cfg" -db >/dev/null 2>&1 &
PIDS+=($!)
SP=$(freeport)
(cd "$T/www" && exec openssl s_server -accept 127.0.0.1:$SP -cert "$T/srv.crt" -key "$T/srv.key" -WWW -quiet \
	>/dev/null 2>&1) &
PIDS+=($!)
wait_port $SP && wait_port $HP || {
	echo "bench_mitm: openssl s_server or haproxy did not start"
	exit 1
}

# mitm NAME TARGETPORT: start it from 127.0.0.1:$LP to 127.0.0.1:TARGETPORT; $RP its process (empty: direct)
mitm() {
	local tp=$2
	LP=$(freeport)
	RP=
	case $1 in
	direct)
		LP=$tp
		return ;;
	umpa) "$UMPA" proxy -l 127.0.0.1:$LP -t 127.0.0.1:$tp --tls-mitm --ca-dir "$T/umpa-ca" 2>/dev/null & ;;
	umpa-up12) "$UMPA" proxy -l 127.0.0.1:$LP -t 127.0.0.1:$tp --tls-mitm --ca-dir "$T/umpa-ca" \
		--upstream-tls version=1.2 2>/dev/null & ;;
	mitmproxy) mitmdump -q --mode reverse:https://127.0.0.1:$tp --listen-host 127.0.0.1 --listen-port $LP \
		--ssl-insecure --set confdir="$T/mitm" --set stream_large_bodies=1m >/dev/null 2>&1 & ;;
	sslsplit) sslsplit -k "$T/ca.key" -c "$T/ca.crt" -K "$T/leaf.key" ssl 127.0.0.1 $LP 127.0.0.1 $tp \
		>/dev/null 2>&1 & ;;
	esac
	RP=$!
	wait_port $LP || echo "bench_mitm: $1 did not start" >&2
}
# cpu_ticks PID: the clock ticks (utime+stime) PID, its threads and its living descendants have used
cpu_ticks() {
	local p t=0 todo=("$1")
	while ((${#todo[@]})); do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		# fields 14 and 15, counted after the ") " that ends the command name (which may hold spaces)
		[ -r /proc/$p/stat ] && t=$((t + $(sed 's/.*) //' /proc/$p/stat 2>/dev/null | awk '{ print $12 + $13 + 0 }')))
		todo+=($(pgrep -P "$p"))
	done
	echo $t
}
# cpu_begin / cpu_end: the proxy's ($RP) CPU seconds between the two into $T/cpu ("-" for direct)
cpu_begin() { [ -z "$RP" ] || CPU0=$(cpu_ticks $RP); }
cpu_end() {
	if [ -z "$RP" ]; then
		echo - >"$T/cpu"
	else
		awk -v a="$CPU0" -v b="$(cpu_ticks $RP)" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }' >"$T/cpu"
	fi
}
HZ=$(getconf CLK_TCK)
unmitm() {
	[ -n "$RP" ] || return 0
	kill $RP
	wait $RP 2>/dev/null
}
handshakes() {
	local i st=()
	for ((i = 0; i < P; i++)); do
		openssl s_time -connect 127.0.0.1:$LP -new -tls1_2 -time $S >"$T/st.$i" 2>&1 &
		st+=($!)
	done
	wait "${st[@]}"
	cat "$T"/st.* | awk '/connections in .* real seconds/ { n += $1; t = $4 > t ? $4 : t }
		END { if (t > 0) printf "%.0f %d", n / t, n; else print 0 0 }'
	rm -f "$T"/st.*
}
# Mbit/s and Mbit received
mbits() {
	curl -k -s -o /dev/null -w '%{speed_download} %{size_download}' --max-time 120 "https://127.0.0.1:$LP/big.bin" |
		awk '{ printf "%.0f %.1f", $1 * 8 / 1e6, $2 * 8 / 1e6 }'
}
declare -A HS MB_S HS_CPU MB_CPU
for name in direct umpa umpa-up12 mitmproxy sslsplit; do
	mitm $name $HP
	curl -k -s -o /dev/null --max-time 20 "https://127.0.0.1:$LP/" # warm: the leaf is made once
	cpu_begin
	read -r HS[$name] n < <(handshakes)
	cpu_end
	hc=$(cat "$T/cpu")
	unmitm
	mitm $name $SP
	cpu_begin
	read -r MB_S[$name] mbit < <(mbits)
	cpu_end
	mc=$(cat "$T/cpu")
	unmitm
	HS_CPU[$name]=$(awk -v n="$n" -v c="$hc" 'BEGIN { if (c == "-" || c <= 0) print "-"; else printf "%.0f", n / c }')
	MB_CPU[$name]=$(awk -v m="$mbit" -v c="$mc" 'BEGIN { if (c == "-" || c <= 0) print "-"; else printf "%.0f", m / c }')
	printf '%-10s handshakes %6s /s   throughput %7s Mbit/s   proxy CPU: %5s s for %6s handshakes = %6s /CPU-s, %5s s for %7s Mbit = %6s Mbit/CPU-s\n' \
		$name "${HS[$name]}" "${MB_S[$name]}" "$hc" "$n" "${HS_CPU[$name]}" "$mc" "$mbit" "${MB_CPU[$name]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b <= 0) print "-"; else printf "%.2f", a / b }'; }
for peer in mitmproxy sslsplit; do
	[ $peer = mitmproxy ] && goal=10 || goal=1
	printf 'umpa/%s: wall: handshakes %s, throughput %s; per proxy CPU-second: handshakes %s, throughput %s (goal >= %s)\n' \
		$peer "$(ratio "${HS[umpa]}" "${HS[$peer]}")" "$(ratio "${MB_S[umpa]}" "${MB_S[$peer]}")" \
		"$(ratio "${HS_CPU[umpa]}" "${HS_CPU[$peer]}")" "$(ratio "${MB_CPU[umpa]}" "${MB_CPU[$peer]}")" $goal
done
