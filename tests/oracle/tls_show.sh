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
            if "_reassembled_handshake_record" in l or "_decrypted_record" in l:
                # a message umpa reassembled from fragments (or decrypted): its handshake types count, its
                # made record header does not (tshark shows the message inside the last fragment's record)
                sub = {k: [] for k in keys}
                walk(l, sub, None)
                got["tls.handshake.type"] += sub["tls.handshake.type"]
                continue
            walk(l, got, None)
            for m in ("_invalid", "_truncated"):
                if m in l:
                    bad.append("frame %d: tls %s: %s" % (fr, m[1:], l[m]))
    if any(got.values()):
        got["tls.handshake.type"].sort(key=int)  # reassembled messages come after the frame's records
        umpa[fr] = tuple(",".join(got[k]) for k in keys)
ws = {}
for line in open(tpath):
    parts = line.rstrip("\n").split("\t")
    parts += [""] * (4 - len(parts))
    if any(parts[1:4]):
        parts[3] = ",".join(sorted(parts[3].split(","), key=int)) if parts[3] else ""
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
# TLS 1.3 label: tshark names every record of a TLS 1.3 connection TLSv1.3 (from the ServerHello's
# supported_versions) even when it cannot decrypt; umpa's one-line form must say the same per frame.
f=$dir/c2.pcap
if [ -f "$f" ]; then
	"$UMPA" show "$f" 2>/dev/null | grep -o ' TLSv1[.0-9]* ' | tr -d ' ' >"$dir/ul.txt"
	tshark -r "$f" -Y tls -T fields -e _ws.col.Protocol 2>/dev/null >"$dir/tl.txt"
	if [ -s "$dir/tl.txt" ] && grep -q TLSv1.3 "$dir/tl.txt" && cmp -s "$dir/ul.txt" "$dir/tl.txt"; then
		echo "ok   TLS 1.3 labels: $(wc -l <"$dir/ul.txt") frames labelled as tshark labels them"
	else
		echo "FAIL TLS 1.3 labels differ from tshark's:"
		diff "$dir/ul.txt" "$dir/tl.txt" | head -5
		fail=1
	fi
fi

# Handshake messages split over records (--max-record 512: the Certificate): the one-line text of each
# frame must be tshark's Info ("Server Hello, [Certificate Fragment], Certificate, ...").
f=$dir/c4.pcap
if [ -f "$f" ]; then
	"$UMPA" show "$f" 2>/dev/null | grep ' TLSv1' | sed -E 's/ \[(reassembled|decrypted):.*//; s/.* TLSv1[.0-9]* //' >"$dir/ui.txt"
	tshark -r "$f" -Y tls -T fields -e _ws.col.Info 2>/dev/null | sed -E 's/ +$//' >"$dir/ti.txt"
	if grep -q 'Certificate Fragment' "$dir/ti.txt" && cmp -s "$dir/ui.txt" "$dir/ti.txt"; then
		echo "ok   handshake fragments: $(wc -l <"$dir/ui.txt") frames read as tshark's Info"
	else
		echo "FAIL handshake fragments: umpa's lines differ from tshark's Info:"
		diff "$dir/ui.txt" "$dir/ti.txt" | head -6
		fail=1
	fi
fi

# Certificates: for each key type, what umpa show says of the server certificate must be what
# `openssl x509 -text` says of the same DER bytes (taken from the capture by tshark).  The RSA-3072
# certificate is sent in 512-byte records: umpa reassembles it from the handshake fragments.
for kt in rsa:3072 ec:P-384 ed25519; do
	f=$dir/cert-$kt.pcap
	mr=
	[ "$kt" = rsa:3072 ] && mr="--max-record 512"
	# shellcheck disable=SC2086
	if ! timeout 30 "$UMPA" tls -q --version 1.2 --key-type "$kt" $mr --sni cert.example.test -w "$f" 2>"$dir/err"; then
		echo "FAIL [cert $kt]: umpa tls: $(head -1 "$dir/err")"
		fail=1
		continue
	fi
	tshark -r "$f" -Y tls.handshake.certificate -T fields -e tls.handshake.certificate 2>/dev/null |
		head -1 | cut -d, -f1 | xxd -r -p >"$dir/leaf.der"
	openssl x509 -inform DER -in "$dir/leaf.der" -noout -text -serial -startdate -enddate >"$dir/x509.txt" 2>&1
	"$UMPA" show --json "$f" >"$dir/cj.json" 2>/dev/null
	if ! "$PY" - "$dir/cj.json" "$dir/x509.txt" "$kt" <<'PYEOF'; then
import json, re, sys, datetime
upath, xpath, kt = sys.argv[1:4]
x = open(xpath).read()
def find(o, key, out):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                out.append(v)
            find(v, key, out)
    elif isinstance(o, list):
        for v in o:
            find(v, key, out)
    return out
def cert_of(o):
    # the first object holding a certificate's fields (whatever its key: a label or a stable name)
    if isinstance(o, dict):
        if "x509af.serialNumber" in o:
            return o
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            c = cert_of(v)
            if c:
                return c
    return None
cert = None
for line in open(upath):
    cert = cert_of(json.loads(line))
    if cert:
        break
if not cert:
    print("FAIL [cert %s]: umpa shows no certificate" % kt); sys.exit(1)
def one(k):
    v = find(cert, k, [])
    return v[0] if v else None
def ossl_time(tag):
    t = re.search(tag + r"=(.*)", x).group(1).strip()
    return datetime.datetime.strptime(t, "%b %d %H:%M:%S %Y GMT").strftime("%Y-%m-%dT%H:%M:%SZ")
bits = re.search(r"\((\d+) bit\)", x)
want = {
    "x509af.serialNumber": re.search(r"serial=([0-9A-F]+)", x).group(1).lstrip("0"),
    "x509af.signature_algorithm": re.search(r"Signature Algorithm: (\S+)", x).group(1),
    "x509af.notBefore": ossl_time("notBefore"),
    "x509af.notAfter": ossl_time("notAfter"),
    # openssl x509 prints no size for Ed25519 keys; EVP_PKEY_get_bits says 256 (RFC 8032: 32-byte keys)
    "x509af.public_key.bits": int(bits.group(1)) if bits else 256,
    "x509ce.dNSName": ",".join(re.findall(r"DNS:([^,\s]+)", x)),
}
def flat(vs):
    out = []
    for v in vs:
        out += v if isinstance(v, list) else [v]
    return ",".join(str(v) for v in out)
got = {
    "x509af.serialNumber": (one("x509af.serialNumber") or "").replace(":", "").upper().lstrip("0"),
    "x509af.signature_algorithm": one("x509af.signature_algorithm"),
    "x509af.notBefore": one("x509af.notBefore"),
    "x509af.notAfter": one("x509af.notAfter"),
    "x509af.public_key.bits": one("x509af.public_key.bits"),
    "x509ce.dNSName": flat(find(cert, "x509ce.dNSName", [])),
}
ktype = {"rsa:3072": "RSA", "ec:P-384": "EC", "ed25519": "ED25519"}[kt]
bad = [k for k in want if want[k] != got[k]]
if one("x509af.public_key.type") != ktype:
    bad.append("x509af.public_key.type")
if not want["x509ce.dNSName"]:
    bad.append("no SAN in openssl's text")
if bad:
    print("FAIL [cert %s]: %s" % (kt, "; ".join("%s umpa %r openssl %r" % (k, got.get(k), want.get(k, ktype)) for k in bad)))
    sys.exit(1)
print("ok   [cert %s]: serial, signature algorithm, validity, key type and size, SANs as openssl x509 says" % kt)
PYEOF
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "tls_show: $n configurations: umpa show agrees with tshark"
exit $fail
