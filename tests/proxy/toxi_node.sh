#!/usr/bin/env bash
# toxi_node.sh - Toxiproxy's Node client (npm toxiproxy-node-client 4.1.0, installed by tests/deps.sh
# into tests/proxy/node, untracked) drives `umpa proxy --api` unchanged: create a proxy, add a
# latency toxic, measure it (+250 ms +-10 %), update it, remove it (tests/proxy/toxi_node.js).
# Loopback only; every wait is bounded.
set -uo pipefail

top_srcdir=${top_srcdir:-.}
UMPA=${UMPA:-./umpa}
MODS=$(cd "$top_srcdir" && pwd)/tests/proxy/node/node_modules
for t in node python3 timeout; do
	if ! command -v $t >/dev/null; then
		echo "SKIP: $t is missing (tests/deps.sh installs it)"
		exit 77
	fi
done
if [ ! -f "$MODS/toxiproxy-node-client/package.json" ]; then
	echo "SKIP: toxiproxy-node-client is not in $MODS (bash tests/deps.sh installs it)"
	exit 77
fi
. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir toxinode) || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

python3 "$top_srcdir/tests/proxy/toxi_peer.py" serve "$T/peer.port" 120 &
PIDS+=($!)
"$UMPA" proxy --api 127.0.0.1:0 --duration 120 2>"$T/api.err" &
APID=$!
PIDS+=($APID)
for ((i = 0; i < 100; i++)); do
	[ -s "$T/peer.port" ] && grep -q 'API on' "$T/api.err" 2>/dev/null && break
	sleep 0.1
done
API=$(sed -n 's/.*Toxiproxy API on \([0-9.:]*\).*/\1/p' "$T/api.err")
read -r SPORT _ <"$T/peer.port" || SPORT=
if [ -z "$API" ] || [ -z "$SPORT" ]; then
	echo "FAIL: did not start: $(cat "$T/api.err")"
	exit 1
fi
timeout 60 node "$top_srcdir/tests/proxy/toxi_node.js" "$MODS" "$API" "$SPORT"
rc=$?
kill -0 $APID 2>/dev/null || {
	echo "FAIL: umpa proxy died: $(tail -3 "$T/api.err")"
	rc=1
}
exit $rc
