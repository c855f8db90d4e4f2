#!/usr/bin/env bash
# replay_browser.sh - the live page of `umpa replay --http` in headless Chromium.
#
# 50 pings (1 s) recorded in namespace A against the kernel in B are replayed at a tenth of the
# speed (-x 0.1: 10 s) with --http 127.0.0.1:0; Chromium in A (chromium-driver,
# python3-selenium; replay_browser.py on browser.py; started before the replay) loads the page: it follows the replay, the packets sent
# rise, the flows are listed, the paused checkbox stops and resumes the sending, 50 typed into
# the multiplier box ends the rest at once.  The shell checks that the replay then exits 0
# with every exchange matched, well before its slow schedule.  Screenshot:
# $top_builddir/test-output/replay_browser/replay.png (kept).
# Needs root; skips (77) otherwise.  Bounded: every command has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
export UMPA_PAGE_DIR=$top_srcdir/tools/page
netns_require_root
netns_need_tools timeout tcpdump ping jq
netns_browser_need replay_browser
. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir replay-browser) || exit 1
chmod 755 "$T"
trap 'netns_cleanup; umpa_tmpdir_done "$T"' EXIT

netns_pair rpbrowser || {
	echo "FAIL: cannot create the namespaces"
	exit 1
}
netns_record_pings "$T/rec.pcap" 50

# Chromium first: the replay (10 s) must still run when the page is up
netns_browser_start "$NS_A" "$top_srcdir/tests/netns/replay_browser.py" "$OUT"
ip netns exec "$NS_A" timeout 60 "$UMPA" replay "$T/rec.pcap" -i "$IF_A" -x 0.1 --timeout 0.5 --json \
	--http 127.0.0.1:0 >"$T/rp.out" 2>"$T/rp.err" &
RP=$!
netns_http_addr "$T/rp.err"
netns_browser_go "http://$ADDR"
netns_browser_wait
t0=$(date +%s%N)
check "the page in Chromium: every check passed ($(grep -c '^ok:' "$T/browser.txt") ok)" \
	eval '[ $BR -eq 0 ] && grep -q "^ok: typing 50" "$T/browser.txt"'
for _ in $(seq 60); do kill -0 "$RP" 2>/dev/null || break; sleep 0.05; done
wait "$RP"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "the replay ends ${ms} ms after the page's multiplier 50, exit $rc, 50 matched" \
	sh -c "[ $ms -lt 2000 ] && [ $rc -eq 0 ] && tail -1 '$T/rp.out' | jq -e '.matched == 50' >/dev/null"
check "the screenshot is kept ($OUT/replay.png)" test -s "$OUT/replay.png"
finish
