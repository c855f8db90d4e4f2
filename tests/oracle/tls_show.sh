#!/usr/bin/env bash
# tls_show.sh - `umpa show` on the TLS conversations `umpa tls` writes, against tshark.
#
# For each configuration (TLS 1.2 with RSA keys, TLS 1.3, client
# certificates, resumption with 512-byte records (a Certificate split over
# records), one byte per segment, reordered and duplicated segments over
# IPv6) it writes a capture with `umpa tls` and
# checks, frame by frame, that `umpa show --json` (TCP reassembly on) shows
# the same TLS records as tshark with its out-of-order reassembly on: the same
# content types (tls.record.content_type, and tls.record.opaque_type for TLS
# 1.3 application data) and handshake message types, in the same frames; that
# no umpa layer is marked invalid or truncated; and that the one-line and
# tree forms run.  Exit 0 pass, 1 fail, 77 skip (no tshark, or no `umpa tls`).
set -uo pipefail

UMPA=${UMPA:-${top_builddir:-.}/umpa}
PY=/usr/bin/python3
if ! command -v tshark >/dev/null 2>&1 || [ ! -x "$PY" ]; then
	echo "tls_show: tshark or $PY missing: skipped"
	exit 77
fi
if ! "$UMPA" tls --help >/dev/null 2>&1; then
	echo "tls_show: this umpa has no 'tls' command: skipped"
	exit 77
fi
. "$(dirname "$0")/../tmpdir.sh"
dir=$(umpa_tmpdir tls-show) || exit 1
trap 'umpa_tmpdir_done "$dir"' EXIT

configs=(
	"--version 1.2 --key-type rsa --send-server 5000"
	"--version 1.3 --send-server 40000"
	"--version 1.3 --client-cert"
	"--version 1.2 --resume id --max-record 512"
	"--version 1.2 --segment 1"
	"--version 1.3 --ipv6 --segment 7 --reorder 0.3 --dup 0.2 --seed 9"
)

fail=0
n=0
for cfg in "${configs[@]}"; do
	n=$((n + 1))
	f=$dir/c$n.pcap
	# shellcheck disable=SC2086
	if ! timeout 30 "$UMPA" tls -q $cfg -w "$f" 2>"$dir/err"; then
		echo "FAIL [$cfg]: umpa tls: $(head -1 "$dir/err")"
		fail=1
		continue
	fi
	timeout 30 "$UMPA" show --json "$f" >"$dir/u.json" 2>"$dir/err" || {
		echo "FAIL [$cfg]: umpa show --json: $(head -1 "$dir/err")"
		fail=1
		continue
	}
	for form in "" "-v"; do
		# shellcheck disable=SC2086
		timeout 30 "$UMPA" show $form "$f" >"$dir/out" 2>"$dir/err" || {
			echo "FAIL [$cfg]: umpa show $form: $(head -1 "$dir/err")"
			fail=1
		}
	done
	timeout 60 tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE -T fields -E occurrence=a -E aggregator=, \
		-e frame.number -e tls.record.content_type -e tls.record.opaque_type -e tls.handshake.type \
		>"$dir/t.txt" 2>/dev/null
	if ! "$PY" - "$dir/u.json" "$dir/t.txt" "$cfg" <<'EOF'; then
import json, sys
upath, tpath, cfg = sys.argv[1:4]
keys = ("tls.record.content_type", "tls.record.opaque_type", "tls.handshake.type")
def walk(obj, out, marks):
    for k, v in obj.items():
        if isinstance(v, dict):
            walk(v, out, marks)
        elif k in keys:
            out[k].append(str(v))
umpa, bad = {}, []
for line in open(upath):
    o = json.loads(line)
    fr = o["frame.number"]
    got = {k: [] for k in keys}
    for l in o["layers"]:
        if l.get("_layer") == "tls":
            walk(l, got, None)
            for m in ("_invalid", "_truncated"):
                if m in l:
                    bad.append("frame %d: tls %s: %s" % (fr, m[1:], l[m]))
    if any(got.values()):
        umpa[fr] = tuple(",".join(got[k]) for k in keys)
ws = {}
for line in open(tpath):
    parts = line.rstrip("\n").split("\t")
    parts += [""] * (4 - len(parts))
    if any(parts[1:4]):
        ws[int(parts[0])] = tuple(parts[1:4])
diff = []
for fr in sorted(set(umpa) | set(ws)):
    if umpa.get(fr) != ws.get(fr):
        diff.append("frame %d: umpa %s, tshark %s" % (fr, umpa.get(fr), ws.get(fr)))
nrec = sum(len(v[0].split(",")) + (len(v[1].split(",")) if v[1] else 0) for v in umpa.values() if v[0] or v[1])
if diff or bad:
    print("FAIL [%s]: %d frames differ, %d marks" % (cfg, len(diff), len(bad)))
    for d in (diff + bad)[:10]:
        print("    " + d)
    sys.exit(1)
print("ok   [%s]: %d frames with TLS records, the same in umpa and tshark" % (cfg, len(umpa)))
EOF
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "tls_show: $n configurations: umpa show agrees with tshark"
exit $fail
