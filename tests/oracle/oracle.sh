#!/bin/sh
# oracle.sh - automake wrapper for the oracle test (oracle.py): every case of
# cases.lua built by umpa must be dissected identically by umpa, tshark and
# Scapy, with no malformed packets except the intended ones.
# Environment (from TESTS_ENVIRONMENT): UMPA = the built umpa, top_srcdir.
# Exit 77 (skip) when tshark or Scapy (for /usr/bin/python3) is missing.
srcdir=${top_srcdir:-$(dirname "$0")/../..}
UMPA=${UMPA:-./umpa}
PY=${UMPA_ORACLE_PYTHON:-/usr/bin/python3}

if ! command -v tshark >/dev/null 2>&1; then
	echo "SKIP: tshark not installed"
	exit 77
fi
if ! [ -x "$PY" ] || ! "$PY" -c 'import scapy.all' >/dev/null 2>&1; then
	echo "SKIP: $PY cannot import scapy (install python3-scapy)"
	exit 77
fi
if ! [ -x "$UMPA" ]; then
	echo "FAIL: no umpa binary at $UMPA"
	exit 99
fi
# UMPA_KEEP (tests/tmpdir.sh): keep the pcap and both JSON outputs
. "$(dirname "$0")/../tmpdir.sh"
if umpa_keep; then
	keep=$(umpa_tmpdir oracle) || exit 99
	echo "kept $keep"
	set -- --keep "$keep" "$@"
fi
exec "$PY" "$srcdir/tests/oracle/oracle.py" --umpa "$UMPA" --cases "$srcdir/tests/oracle/cases.lua" "$@"
