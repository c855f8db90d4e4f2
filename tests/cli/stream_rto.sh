#!/usr/bin/env bash
# stream_rto.sh - stream-send's retransmission timer on the virtual clock (umpa run --offline).
#
# The receiver is played by a capture file: an ARP reply for the target, then acknowledgements at chosen
# times (stream-recv's format: "A", session, cumulative point, window, echoed segment, SACK blocks).  The
# session number is the sender's load time in microseconds, which offline is the first packet's time.
#   1. a receiver that drains a full window slowly (64 segments sent at once, then one acknowledged every
#      50 ms, echoing nothing new, so no new RTT sample: SRTT stays 10 ms, RTO at its 0.2 s floor): the
#      timer restarts at each acknowledgement that moves the cumulative point (RFC 6298 5.3), so nothing
#      times out although the oldest segment waits up to 3 s; the sender sends each segment once as new,
#      retransmits none after a timeout, and exits 0 when all is acknowledged;
#   2. the same with the acknowledgements stopped for 0.6 s half-way: the timer still expires (a real
#      silence), and the transfer still completes.
# Offline, deterministic, no network.  Environment: UMPA, top_srcdir.
set -uo pipefail
UMPA=${UMPA:-./umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
srcdir=${top_srcdir:-$(dirname "$0")/../..}
export UMPA_TEMPLATE_PATH=$srcdir/templates
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
. "$srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir stream_rto) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -z "${2:-}" ] || echo "    $2"; }

mkdir -p "$T/in"
head -c 6400 /dev/zero | tr '\0' 'u' >"$T/in/f" # 64 segments of 100 bytes

# acks.pcap STALL: the receiver's side; STALL seconds of silence after the 30th acknowledgement
make_input() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
out, stall = sys.argv[1], float(sys.argv[2])
S_MAC, R_MAC = bytes.fromhex("02000a4e000a"), bytes.fromhex("02000a4e0014")
S_IP, R_IP = bytes([10, 78, 0, 10]), bytes([10, 78, 0, 20])
T0, N, PORT = 1000, 64, 9000
session = (T0 * 1000000) % 4294967296

def ipsum(h):
    s = sum(struct.unpack(">10H", h))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def udp(payload):
    u = struct.pack(">HHHH", PORT, PORT, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, R_IP, S_IP)
    ip = ip[:10] + struct.pack(">H", ipsum(ip)) + ip[12:]
    return S_MAC + R_MAC + b"\x08\x00" + ip + u

def ack(cum, echo):
    return udp(struct.pack(">cIIIIB", b"A", session, cum, 64, echo, 0))

arp = S_MAC + R_MAC + b"\x08\x06" + struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, R_MAC, R_IP, S_MAC, S_IP)
pkts = [(T0, arp), (T0 + 0.010, ack(1, 0))]  # a 10 ms sample; the window opens to 64: all sent at once
t = T0 + 0.010
for cum in range(2, N + 1):
    t += 0.050 + (stall if cum == 31 else 0)
    pkts.append((t, ack(cum, N)))  # echoes no segment: no new RTT sample
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for ts, b in pkts:
        sec = int(ts)
        us = int(round((ts - sec) * 1e6))
        if us == 1000000:
            sec, us = sec + 1, 0
        f.write(struct.pack("<IIII", sec, us, len(b), len(b)) + b)
PY
}

# ctr FILE NAME: a counter of a --json output
ctr() { local v; v=$(grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | head -1 | cut -d: -f2); echo "${v:-0}"; }

run() { # run NAME STALL: sets RC; counters in $T/NAME.json
	make_input "$T/$1.pcap" "$2" || { bad "$1: input file" ""; return; }
	timeout 60 "$UMPA" run stream-send --offline "$T/$1.pcap" --duration 30 --set ip=10.78.0.10 \
		--set target=10.78.0.20 --set file="$T/in/f" --allow-read "$T/in" --set seg=100 --set window=64 \
		--json >"$T/$1.json" 2>"$T/$1.err"
	RC=$?
}

run drain 0
c=$(grep -o '"[a-z.]*":[0-9]*' "$T/drain.json" | tr '\n' ' ')
if [ $RC -eq 0 ] && [ "$(ctr "$T/drain.json" rto.expired)" -eq 0 ] && [ "$(ctr "$T/drain.json" segments.sent)" -eq 64 ] &&
	[ "$(ctr "$T/drain.json" bytes.acked)" -eq 6400 ] && grep -q "6400 bytes in 64 segments acknowledged" "$T/drain.err"; then
	ok "slow drain, progress every 50 ms, RTO 0.2 s: no timeout although the last segment waited 3 s; exit 0"
else
	bad "slow drain: no timeout while acknowledgements progress (exit $RC)" "$c $(tail -n 2 "$T/drain.err")"
fi

run stall 0.6
c=$(grep -o '"[a-z.]*":[0-9]*' "$T/stall.json" | tr '\n' ' ')
if [ $RC -eq 0 ] && [ "$(ctr "$T/stall.json" rto.expired)" -ge 1 ] && [ "$(ctr "$T/stall.json" bytes.acked)" -eq 6400 ]; then
	ok "0.6 s of silence half-way: the timer expires ($(ctr "$T/stall.json" rto.expired) times) and the transfer completes"
else
	bad "0.6 s of silence: the timer expires and the transfer completes (exit $RC)" "$c $(tail -n 2 "$T/stall.err")"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
