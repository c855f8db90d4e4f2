#!/usr/bin/env bash
# page_browser.sh - the secure-stream scenario watched and driven from umpa's live page in headless Chromium.
#
# Three namespaces in a row (lib.sh netns_link3): A -- M -- C, and a fourth,
# W, the operator's: a management veth from W to each (10.79.1.0/24 to A,
# 10.79.2.0/24 to M, 10.79.3.0/24 to C), apart from the data path.  C runs
# stream-recv, M flaky-link (--set delay=0.2: with the sender's window of 16
# the transfer lasts while the page is watched; --http-token), A stream-send (--set window=16) with a
# 2 MB file; each with --http 10.79.X.1:8080 --http-allow 10.79.0.0/16.
# In W, Chromium (headless, chromium-driver, python3-selenium;
# page_browser.py on browser.py; started before the sender, lib.sh
# netns_browser_start) loads the page from the link's process following all
# three (?self=0&ep=...): the counters rise; the loss slider, moved to 20 %
# with the token typed into the page, makes the sender's retransmission count
# rise within seconds; the delay set to 0 in its box, the transfer ends and the file
# arrives with the same SHA-256; Reset puts the link back to its defaults.
# The shell checks the exits, the file and the counters.  Screenshots: page.png and page-phone.png in
# $top_builddir/test-output/page_browser/ (kept).
# Needs root; skips (77) otherwise.  Bounded: every command has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
export UMPA_PAGE_DIR=$top_srcdir/tools/page
netns_require_root
netns_need_tools timeout sha256sum curl
netns_browser_need page_browser

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir page-browser) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

netns_link3 page || {
	echo "FAIL: cannot create namespaces"
	exit 1
}
trap cleanup EXIT
NS_W="umpa-page-$$-w"
ip netns add "$NS_W" && NS_CREATED+=("$NS_W") || exit 1
# IPv4 only: no IPv6 address arriving after Chromium starts (it would abort the page's requests
# with ERR_NETWORK_CHANGED)
ip netns exec "$NS_W" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS_W" link set lo up
i=1
for ns in "$NS_A" "$NS_M" "$NS_C"; do
	ip -n "$NS_W" link add "w$i" type veth peer name ctl netns "$ns" || exit 1
	ip -n "$NS_W" addr add "10.79.$i.2/24" dev "w$i"
	ip -n "$ns" addr add "10.79.$i.1/24" dev ctl
	ip -n "$NS_W" link set "w$i" up
	ip -n "$ns" link set ctl up
	i=$((i + 1))
done
HTTP=(--http-allow 10.79.0.0/16)
SND=http://10.79.1.1:8080 LINK=http://10.79.2.1:8080 RCV=http://10.79.3.1:8080
# the operator's own umpa proxy in W, in front of the link's control API: the page reaches the
# link through it (127.0.0.1:8091) and follows the proxy too (127.0.0.1:8090)
LINK_VIA=http://127.0.0.1:8091 PROXY=http://127.0.0.1:8090
# Chromium first: the transfer must still run when the page is up
URL="$LINK_VIA/?self=0&ep=10.79.1.1:8080&ep=127.0.0.1:8091&ep=10.79.3.1:8080&ep=127.0.0.1:8090"
netns_browser_start "$NS_W" "$top_srcdir/tests/netns/page_browser.py" \
	"$URL" "$SND" "$LINK_VIA" "$RCV" "$PROXY" s3cret "$OUT"

mkdir -p "$T/in" "$T/out"
head -c 2000000 /dev/urandom >"$T/in/f"

# wait_http NS URL: the control API answers (bounded)
wait_http() {
	local i
	for i in $(seq 100); do
		ip netns exec "$1" curl -s -o /dev/null --max-time 1 "$2/stats" && return 0
		sleep 0.1
	done
	return 1
}

ip netns exec "$NS_M" timeout --foreground 60 "$UMPA" run flaky-link -i veth-ma -i veth-mc --set seed=7 --set delay=0.2 \
	--http 10.79.2.1:8080 "${HTTP[@]}" --http-token s3cret --json >"$T/fl.out" 2>"$T/fl.err" &
FL=$!
ip netns exec "$NS_C" timeout 60 "$UMPA" run stream-recv -i veth-c --set ip=10.78.0.20 --set port=9000 \
	--set out="$T/out/f" --allow-write "$T/out" --set linger=0.5 \
	--http 10.79.3.1:8080 "${HTTP[@]}" --json >"$T/recv.out" 2>"$T/recv.err" &
RV=$!
ip netns exec "$NS_W" timeout --foreground 60 "$UMPA" proxy -l 127.0.0.1:8091 -t 10.79.2.1:8080 \
	--http 127.0.0.1:8090 >"$T/px.out" 2>"$T/px.err" &
PX=$!
check "the link and the receiver serve their control API to W, the proxy in W its own" \
	eval 'wait_http "$NS_W" "$LINK" && wait_http "$NS_W" "$RCV" && wait_http "$NS_W" "$PROXY"'
ip netns exec "$NS_A" timeout 60 "$UMPA" run stream-send -i veth-a --set ip=10.78.0.10 --set target=10.78.0.20 \
	--set port=9000 --set window=16 --set file="$T/in/f" --allow-read "$T/in" \
	--http 10.79.1.1:8080 "${HTTP[@]}" --json >"$T/send.out" 2>"$T/send.err" &
SV=$!

netns_browser_go
netns_browser_wait
check "the page in Chromium: every check passed ($(grep -c '^ok:' "$T/browser.txt") ok)" \
	eval '[ $BR -eq 0 ] && grep -q "^ok: no JavaScript errors" "$T/browser.txt"'

wait $SV
SRC=$?
wait $RV
RRC=$?
check "stream-send exits 0 once the whole file is acknowledged" [ $SRC -eq 0 ]
check "stream-recv exits 0 by itself once complete" [ $RRC -eq 0 ]
same() { [ "$(sha256sum <"$T/in/f")" = "$(sha256sum <"$T/out/f" 2>/dev/null)" ]; }
check "the 2 MB file arrives with the same SHA-256" same
ctr() { local v; v=$(grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | head -1 | cut -d: -f2); echo "${v:-0}"; }
echo "  sender: retransmitted $(ctr "$T/send.out" segments.retransmitted), sent $(ctr "$T/send.out" segments.sent)"
check "the sender retransmitted (the loss the page set)" [ "$(ctr "$T/send.out" segments.retransmitted)" -gt 20 ]
kill -TERM $FL
wait $FL
check "the link ends at SIGTERM with exit 0" [ $? -eq 0 ]
kill -TERM $PX
wait $PX
check "the proxy in W ends at SIGTERM with exit 0 ($(tail -1 "$T/px.err" | cut -c1-80))" [ $? -eq 0 ]
check "the screenshots are kept ($OUT/page.png, page-phone.png)" \
	eval '[ -s "$OUT/page.png" ] && [ -s "$OUT/page-phone.png" ]'

finish
