#!/usr/bin/env bash
# stream.sh - stream-send -> flaky-link (10 % loss each way) -> stream-recv.
#
# Three namespaces in a row (lib.sh netns_link3): A -- M -- C.  M runs
# `umpa run flaky-link -i veth-ma -i veth-mc --set loss=0.1 --set seed=7`; C
# runs the contract `umpa run stream-recv -i veth-c --set ip=10.78.0.20
# --set port=9000 --set out=FILE --allow-write DIR`; A runs the contract
# `umpa run stream-send -i veth-a --set ip=10.78.0.10 --set target=10.78.0.20
# --set port=9000 --set file=FILE --allow-read DIR`.  Neither kernel owns
# those addresses: the templates answer ARP for them.  A 5 MB file of random
# bytes must arrive with the same SHA-256; the sender exits 0 once all is
# acknowledged, the receiver by itself once the transfer is complete and
# idle; both counted retransmissions and duplicates, and the bridge dropped
# frames both ways.  Then a receiver that processes slowly (delay, a small
# window) still gets a file whole through the loss, its window closing and
# opening; and a sender with nobody to talk to gives up with exit 1.
# Needs root; skips (77) otherwise.  Bounded: every command has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
for t in timeout sha256sum; do
	if ! command -v $t >/dev/null; then
		echo "SKIP: $t is missing"
		exit 77
	fi
done

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir stream) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

netns_link3 stream || {
	echo "FAIL: cannot create namespaces"
	exit 1
}
trap cleanup EXIT
mkdir -p "$T/in" "$T/out"
head -c 5000000 /dev/urandom >"$T/in/f"

ip netns exec "$NS_M" timeout 120 "$UMPA" run flaky-link -i veth-ma -i veth-mc --set loss=0.1 --set seed=7 \
	--json >"$T/fl.out" 2>"$T/fl.err" &
FL=$!

# ctr FILE NAME: a counter of a --json output
# (grep, not python: a python start costs most of a second on a loaded machine)
ctr() { local v; v=$(grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | head -1 | cut -d: -f2); echo "${v:-0}"; }

# transfer NAME SIZE RECV_ARGS -- SEND_ARGS: one file through the link; sets SRC RRC MS
transfer() {
	local name=$1 rargs=() sargs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		rargs+=("$1")
		shift
	done
	shift
	sargs=("$@")
	ip netns exec "$NS_C" timeout 60 "$UMPA" run stream-recv -i veth-c --set ip=10.78.0.20 --set port=9000 \
		--set out="$T/out/$name" --allow-write "$T/out" "${rargs[@]}" --json >"$T/$name.recv.json" 2>"$T/$name.recv.err" &
	local rv=$!
	sleep 0.3 # the receiver's capture is open before the first segment
	local t0
	t0=$(date +%s%N)
	ip netns exec "$NS_A" timeout 60 "$UMPA" run stream-send -i veth-a --set ip=10.78.0.10 --set target=10.78.0.20 \
		--set port=9000 --set file="$T/in/$name" --allow-read "$T/in" "${sargs[@]}" --json >"$T/$name.send.json" 2>"$T/$name.send.err"
	SRC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	wait $rv
	RRC=$?
	RMS=$((($(date +%s%N) - t0) / 1000000))
}

transfer f --
same() { [ "$(sha256sum <"$T/in/$1")" = "$(sha256sum <"$T/out/$1" 2>/dev/null)" ]; }
echo "  5 MB through 10 % loss each way: sender done in $MS ms, receiver exited after $RMS ms"
echo "  sender: $(grep -o '"segments[^}]*' "$T/f.send.json")"
echo "  receiver: $(grep -o '"segments[^}]*' "$T/f.recv.json")"
check "stream-send exits 0 once the whole file is acknowledged" [ $SRC -eq 0 ]
check "stream-recv exits 0 by itself once complete and idle" [ $RRC -eq 0 ]
check "the 5 MB file arrives with the same SHA-256" same f
check "the sender retransmitted (segments.retransmitted > 100)" [ "$(ctr "$T/f.send.json" segments.retransmitted)" -gt 100 ]
check "the sender sent each of the 3572 segments once as new" [ "$(ctr "$T/f.send.json" segments.sent)" -eq 3572 ]
check "the receiver delivered 3572 segments in order" [ "$(ctr "$T/f.recv.json" segments.delivered)" -eq 3572 ]
check "the receiver saw duplicates (lost acks)" [ "$(ctr "$T/f.recv.json" segments.duplicated)" -gt 0 ]
check "the transfer took under 20 s" [ $MS -lt 20000 ]

# slow receiver: 2 ms per segment, a window of 16: the window closes and reopens.  It lingers 1.5 s: when
# the last acknowledgements are lost, the sender's probe and timeouts (0.2 s, then 0.4 s) must still find it
# (with 0.5 s the sender once waited for a receiver already gone, until its 30 s timeout)
head -c 300000 /dev/urandom >"$T/in/slow"
transfer slow --set delay=0.002 --set window=16 --set linger=1.5 --
echo "  300 kB to a slow receiver (2 ms per segment, window 16): $MS ms"
echo "  receiver: $(grep -o '"segments[^}]*' "$T/slow.recv.json")"
both_ok() { [ $SRC -eq 0 ] && [ $RRC -eq 0 ]; }
check "slow receiver: both exit 0" both_ok
check "slow receiver: the file arrives whole" same slow
check "slow receiver: processing paced it (over 215 segments x 2 ms)" [ $MS -ge 400 ]
check "slow receiver: windows were updated as the buffer drained" [ "$(ctr "$T/slow.recv.json" window.updates)" -gt 0 ]

kill -TERM $FL
wait $FL
echo "  bridge: $(grep -o '"[ab]*\.\(forwarded\|dropped\)":[0-9]*' "$T/fl.out" | tr '\n' ' ')"
both_dropped() { [ "$(ctr "$T/fl.out" ab.dropped)" -gt 300 ] && [ "$(ctr "$T/fl.out" ba.dropped)" -gt 300 ]; }
check "the bridge dropped frames both ways" both_dropped

# nobody there: the sender gives up
ip netns exec "$NS_A" timeout 20 "$UMPA" run stream-send -i veth-a --set ip=10.78.0.10 --set target=10.78.0.99 \
	--set port=9000 --set file="$T/in/slow" --allow-read "$T/in" --set timeout=1 >/dev/null 2>"$T/none.err"
rc=$?
gives_up() { [ $rc -eq 1 ] && grep -q "no progress for 1 s" "$T/none.err"; }
check "no receiver: stream-send gives up after timeout=1 with exit 1 ($(tail -1 "$T/none.err"))" gives_up
finish
