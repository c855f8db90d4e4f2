#!/usr/bin/env bash
# replay_http.sh - `umpa replay --http`: the live page's routes during a replay against a kernel.
#
# 100 pings (2 s) are recorded in namespace A against the kernel in B, then replayed at half speed
# (-x 0.5: 4 s) with --http 127.0.0.1:0 and a token, while curl in A reads the control plane:
# GET /stats twice (tx and rx rising), the Server-Sent Events of /events (stats events, tx rising
# between two), GET /conns (the ICMP flow with its exchanges), GET /params (multiplier 0.5,
# paused false); a PATCH without the token is refused (401); PATCH paused=true stops the sending
# (tx still over 0.4 s), PATCH paused=false with multiplier 50 ends the rest at once (the process
# exits well before the half-speed schedule would have, every exchange matched, exit 0).  The same
# at --pps 20: the parameters are pps and paused (multiplier and pps 0 refused), POST /pause stops the
# sending (tx still over 0.4 s), POST /resume starts it again (GET /pause: 405), PATCH pps 2000 ends it.
# --topspeed --no-check of 1,000,000 frames: paused is its one parameter, POST /pause holds tx still
# below the total, POST /resume sends the rest (exit 0).  Usage
# errors: --http-token without --http, --http with --audit, a non-loopback --http address.
# Needs root (skips with 77 otherwise).
set -u
: "${top_srcdir:=.}"
: "${UMPA:=./umpa}"
. "$top_srcdir/tests/netns/lib.sh"
netns_require_root
netns_need_tools tcpdump ping curl jq timeout
. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir replay_http) || exit 1
trap 'netns_cleanup; umpa_tmpdir_done "$T"' EXIT

netns_pair rphttp || {
	echo "FAIL: cannot create the namespaces"
	exit 1
}
# ---- record ----
netns_record_pings "$T/rec.pcap" 100

# ---- replay with --http ----
ip netns exec "$NS_A" timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" -x 0.5 --timeout 0.5 --json \
	--http 127.0.0.1:0 --http-token s3cret >"$T/rp.out" 2>"$T/rp.err" &
RP=$!
netns_http_addr "$T/rp.err"
check "replay --http: listening ($ADDR)" test -n "$ADDR"
get() { in_a curl -s --max-time 5 "http://$ADDR$1"; }
# patch BODY [curl args]: the status; the body in $T/patch
patch() {
	local b=$1
	shift
	in_a curl -s -o "$T/patch" -w '%{http_code}' --max-time 5 -X PATCH -H 'Content-Type: application/json' \
		"$@" --data "$b" "http://$ADDR/params"
}
stat() { get /stats | jq -r ".$1"; }

tx1=0
for _ in $(seq 100); do
	tx1=$(stat tx)
	[ "${tx1:-0}" -ge 5 ] 2>/dev/null && break
	sleep 0.05
done
rx1=$(stat rx)
in_a curl -s -N --max-time 1.6 "http://$ADDR/events" >"$T/events" 2>/dev/null
tx2=$(stat tx)
rx2=$(stat rx)
check "GET /stats during the replay: tx $tx1 -> $tx2, rx $rx1 -> $rx2 (rising)" \
	test "$tx2" -gt "$tx1" -a "$rx2" -gt "$rx1" -a "$(stat total)" = 100
ev=$(sed -n 's/^data: \(.*"tx":.*\)$/\1/p' "$T/events" | jq -r .tx | tr '\n' ' ')
check "GET /events: hello, then stats events with tx rising ($ev)" \
	sh -c "grep -q '^event: hello' '$T/events' && [ \$(echo $ev | wc -w) -ge 2 ] &&
	       [ \$(echo $ev | awk '{print \$NF}') -gt \$(echo $ev | awk '{print \$1}') ]"
get /conns >"$T/conns"
check "GET /conns: the ICMP flow and its exchanges ($(jq -c '.list[0]' "$T/conns"))" \
	sh -c "jq -e '.total >= 1 and (.list | map(select(.client | test(\"icmp\"))) | .[0].exchanges > 0)' '$T/conns' >/dev/null"
get /params >"$T/params"
check "GET /params: multiplier 0.5, paused false" \
	sh -c "jq -e '.multiplier.value == \"0.5\" and .paused.value == \"false\"' '$T/params' >/dev/null"
code=$(patch '{"paused": true}')
check "PATCH without the token: 401" test "$code" = 401
code=$(patch '{"paused": true}' -H 'Authorization: Bearer s3cret')
p1=$(stat tx)
sleep 0.4
p2=$(stat tx)
check "PATCH paused=true ($code): nothing sent while paused (tx $p1, then $p2)" test "$code" = 200 -a "$p1" = "$p2"
left=$((100 - p2))
t0=$(date +%s%N)
code=$(patch '{"paused": false, "multiplier": 50}' -H 'Authorization: Bearer s3cret')
for _ in $(seq 100); do kill -0 "$RP" 2>/dev/null || break; sleep 0.05; done
wait "$RP"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
# 100 pings in 2 s recorded: 25 a second at half speed, 40 ms each
check "PATCH multiplier 50 ($code, $(jq -c .multiplier.value "$T/patch")): the $left packets left ($((left * 40)) ms at half speed) and the end in $ms ms" \
	test "$code" = 200 -a "$left" -ge 20 -a "$ms" -lt $((left * 20))
check "the replay: exit 0, 100 exchanges matched (rc $rc)" \
	sh -c "[ $rc -eq 0 ] && tail -1 '$T/rp.out' | jq -e '.matched == 100 and .exchanges == 100' >/dev/null"

# ---- --pps: the rate is the parameter ----
ip netns exec "$NS_A" timeout 30 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --pps 20 --timeout 0.5 --json \
	--http 127.0.0.1:0 >"$T/rp2.out" 2>"$T/rp2.err" &
RP=$!
netns_http_addr "$T/rp2.err"
for _ in $(seq 100); do [ "$(stat tx)" -ge 3 ] 2>/dev/null && break; sleep 0.05; done
get /params >"$T/params"
c1=$(patch '{"multiplier": 2}')
c2=$(patch '{"pps": 0}')
e2=$(jq -r .error "$T/patch")
check "--pps 20: GET /params has pps 20 and paused; multiplier refused ($c1), pps 0 refused ($c2: $e2)" \
	sh -c "jq -e '.pps.value == \"20\" and .paused.value == \"false\" and (keys | length) == 2' '$T/params' >/dev/null &&
	       [ $c1 -ge 400 ] && [ $c2 = 400 ]"
# post PATH: the status of POST PATH; the body in $T/post
post() { in_a curl -s -o "$T/post" -w '%{http_code}' --max-time 5 -X POST "http://$ADDR$1"; }
code=$(post /pause)
p1=$(stat tx)
sleep 0.4
p2=$(stat tx)
pv=$(get /params | jq -r .paused.value)
check "--pps: POST /pause ($code, $(cat "$T/post")): nothing sent while paused (tx $p1, then $p2), paused $pv" \
	sh -c "[ $code = 200 ] && jq -e '.paused == true' '$T/post' >/dev/null && [ $p1 = $p2 ] && [ $pv = true ]"
code=$(post /resume)
for _ in $(seq 100); do [ "$(stat tx)" -gt "$p2" ] 2>/dev/null && break; sleep 0.05; done
p3=$(stat tx)
g=$(in_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ADDR/pause")
check "--pps: POST /resume ($code): sending again at the rate (tx $p2 -> $p3); GET /pause: $g" \
	test "$code" = 200 -a "$p3" -gt "$p2" -a "$g" = 405
left=$((100 - $(stat tx)))
t0=$(date +%s%N)
code=$(patch '{"pps": 2000}')
for _ in $(seq 100); do kill -0 "$RP" 2>/dev/null || break; sleep 0.05; done
wait "$RP"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "PATCH pps 2000 ($code): the $left packets left ($((left * 50)) ms at 20 pps) and the end in $ms ms, exit $rc, 100 matched" \
	sh -c "[ $code = 200 ] && [ $left -ge 20 ] && [ $ms -lt $((left * 25)) ] && [ $rc -eq 0 ] &&
	       tail -1 '$T/rp2.out' | jq -e '.matched == 100' >/dev/null"

# ---- --topspeed: paused is its one parameter; POST /pause and /resume ----
# 100 pings x 10000 rounds, only sent (to a MAC nobody has: B's kernel drops them at once)
ip netns exec "$NS_A" timeout 60 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" --topspeed --no-check --loop 10000 \
	--rewrite-mac "$MAC_B=02:00:00:00:00:99" --http 127.0.0.1:0 >"$T/rp3.out" 2>"$T/rp3.err" &
RP=$!
netns_http_addr "$T/rp3.err"
for _ in $(seq 200); do [ "$(stat tx)" -gt 0 ] 2>/dev/null && break; sleep 0.02; done
code=$(post /pause)
p1=$(stat tx)
sleep 0.3
p2=$(stat tx)
get /params >"$T/params"
check "--topspeed: POST /pause ($code): tx stays at $p1 ($p2) of 1000000; /params has paused only ($(jq -c . "$T/params"))" \
	sh -c "[ $code = 200 ] && [ $p1 = $p2 ] && [ $p2 -lt 1000000 ] &&
	       jq -e '.paused.value == \"true\" and (keys | length) == 1' '$T/params' >/dev/null"
code=$(post /resume)
wait "$RP"
rc=$?
check "--topspeed: POST /resume ($code): the rest sent, exit $rc ($(head -1 "$T/rp3.out"))" \
	sh -c "[ $code = 200 ] && [ $rc -eq 0 ] && grep -q '^sent 1000000 packets' '$T/rp3.out'"

# ---- usage errors: one line, exit 2 ----
usage() { # WHAT ARGS...: exit 2 and one line on stderr
	local what=$1
	shift
	in_a "$UMPA" replay "$T/rec.pcap" "$@" >/dev/null 2>"$T/usage.err"
	local r=$?
	check "usage: $what (exit $r: $(cat "$T/usage.err"))" test "$r" = 2 -a "$(wc -l <"$T/usage.err")" = 1
}
usage "--http-token without --http" -i "$IF_A" --http-token x
usage "--http with --audit" --audit --http 127.0.0.1:0
usage "--http on a non-loopback address" -i "$IF_A" --http "$IP_A:0"
finish
