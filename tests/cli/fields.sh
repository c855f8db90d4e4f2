#!/usr/bin/env bash
# fields.sh - `umpa fields`: every protocol and field, as the tables say and as building does.
#
#   - text and --json list every protocol of --list and every field of each;
#   - the defaults `umpa fields --json` reports are what a freshly built layer holds
#     (read back through `umpa shell`: p[1].FIELD of packets(PROTO{}));
#   - every non-variable field's Wireshark name is one tshark knows (tshark -G fields);
#   - value names and flag letters are listed, and the syntax of options and records
#     (IP/TCP options, DNS records, IPv6 routing addresses) is shown by `fields` and
#     documented in umpa(1) for every variable field;
#   - PROTO by alias and Scapy class name; an unknown one is one usage line with the
#     nearest name ("did you mean").
# Environment: UMPA (the umpa binary), top_srcdir.  Needs /usr/bin/python3 and tshark.
set -uo pipefail
UMPA=${UMPA:-./umpa}
srcdir=${top_srcdir:-$(dirname "$0")/../..}
PY=/usr/bin/python3
. "$srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir fields) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -z "${2:-}" ] || echo "    $2"; }
check() { # NAME COMMAND...: the command succeeds
	local name=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then ok "$name"; else bad "$name" "$(head -c 600 "$T/check.out" | tr '\n' '|')"; fi
}
for tool in "$PY" tshark; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAILED: $tool missing (tests/deps.sh installs it)"; exit 1; }
done

"$UMPA" fields >"$T/all.txt" 2>"$T/err"; rc=$?
check "fields: exit 0, nothing on stderr" test $rc -eq 0 -a ! -s "$T/err"
"$UMPA" fields --list >"$T/list.txt"
check "fields --list: the registry's protocols (eth ... raw)" grep -qx raw "$T/list.txt"
"$UMPA" fields --json >"$T/all.json"; rc=$?
check "fields --json: exit 0" test $rc -eq 0
"$UMPA" fields --json IP tcp >"$T/two.json"
"$UMPA" fields ip >"$T/ip.txt"
"$UMPA" fields IP >"$T/IP.txt"
check "fields IP (Scapy's name) = fields ip" cmp -s "$T/ip.txt" "$T/IP.txt"
"$UMPA" fields ipv4 >"$T/ipv4.txt"
check "fields ipv4 (alias) = fields ip" cmp -s "$T/ip.txt" "$T/ipv4.txt"

# every field of every protocol, in text and JSON; the syntax of variable fields; value names
check "text and JSON list every protocol and field" "$PY" - "$T/list.txt" "$T/all.txt" "$T/all.json" "$T/two.json" <<'EOF'
import json, sys
names = open(sys.argv[1]).read().split()
text = open(sys.argv[2]).read()
protos = json.load(open(sys.argv[3]))
two = json.load(open(sys.argv[4]))
assert [p["name"] for p in protos] == names, "JSON protocols differ from --list"
assert [p["name"] for p in two] == ["ip", "tcp"], [p["name"] for p in two]
blocks = {}
for b in text.split("\n\n"):
    blocks[b.split(" ", 1)[0]] = b
nf = 0
for p in protos:
    b = blocks.get(p["name"])
    assert b is not None, "no text block for " + p["name"]
    lines = b.split("\n")
    for f in p["fields"]:
        nf += 1
        assert any(l.startswith("  " + f["name"] + " ") for l in lines), p["name"] + "." + f["name"] + " missing in text"
        assert f["type"] in ("uint", "enum", "flags", "bool", "mac", "ipv4", "ipv6", "bytes", "var"), f
        if f["type"] == "var":
            assert f["help"], "no syntax for " + p["name"] + "." + f["name"]
        for v in f.get("values", []):
            assert v["name"] in b, "value name %s of %s.%s not in text" % (v["name"], p["name"], f["name"])
print(len(protos), "protocols,", nf, "fields")
ip = {f["name"]: f for f in protos[names.index("ip")]["fields"]}
assert ip["ttl"]["default_value"] == 64 and not ip["ttl"]["auto"]
assert ip["checksum"]["auto"] and ip["len"]["auto"] and ip["proto"]["auto"]
assert {"name": "df", "value": 2} in ip["flags"]["values"]
tcp = {f["name"]: f for f in protos[names.index("tcp")]["fields"]}
assert tcp["flags"]["letters"] == "FSRPAUECN" and "mss=" in tcp["options"]["help"]
assert "sport" in tcp["srcport"]["aliases"]
EOF
check "text: tcp options and DNS record syntax shown" grep -q "mss=N" "$T/all.txt"
check "text: DNS question syntax shown" grep -qF "name[:type[:class]]" "$T/all.txt"

# the defaults fields reports are what building gives: read back through the shell
"$PY" - "$T/all.json" >"$T/defaults.lua" <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1])):
    if p["name"] in ("raw",):
        continue
    for f in p["fields"]:
        if f["auto"] or f["type"] in ("var", "bytes") or f["bits"] == 0:
            continue
        # print NAME.FIELD and the value of a fresh layer (the first one)
        ctor = "ssl" if p["name"] == "tls" else p["name"]  # tls{...} is the conversation call
        print('print(%r, packets(%s{})[1][1][%r])' % (p["name"] + "." + f["name"], ctor, f["name"]))
EOF
"$UMPA" shell <"$T/defaults.lua" >"$T/defaults.out" 2>"$T/defaults.err"; rc=$?
check "shell read every default (exit 0)" test $rc -eq 0 -a ! -s "$T/defaults.err"
check "every reported default is what a built layer holds" "$PY" - "$T/all.json" "$T/defaults.out" <<'EOF'
import json, sys
want = {}
for p in json.load(open(sys.argv[1])):
    for f in p["fields"]:
        want[p["name"] + "." + f["name"]] = f
# fields of another variant of the message, which the protocol's locate hook puts nowhere in a fresh
# layer although their bits lie inside the fixed header
variant = {"gre.flags.ack": "version 1 (PPTP) only", "gre.flags.reserved_v1": "version 1 (PPTP) only",
           "erspan.bso": "type III only (a fresh erspan{} is type II)", "erspan.timestamp": "type III only",
           "igmp.rreserved": "version 3 report only (a fresh igmp{} is a version 2 query)"}
variant.update({"dhcpv6.hopcount": "relay messages only (a fresh dhcpv6{} is a solicit)",
                "icmpv6.mldr.nb_mcast_records": "MLDv2 report (type 143) only (a fresh icmpv6{} is an echo request)"})
variant.update({"ntp." + f: "NTP mode 6 or 7 only (a fresh ntp{} is a mode 3 client)" for f in (
    "priv.flags.r", "priv.flags.more", "ctrl.flags2", "ctrl.flags2.r", "ctrl.flags2.error", "ctrl.flags2.more",
    "ctrl.flags2.opcode", "ctrl.sequence", "ctrl.status", "ctrl.associd", "ctrl.offset", "ctrl.count",
    "priv.auth_seq", "priv.auth", "priv.seq", "priv.impl", "priv.reqcode", "priv.err", "priv.numitems",
    "priv.reserved", "priv.itemsize")})
n = 0
for line in open(sys.argv[2]):
    key, got = line.rstrip("\n").split("\t")
    f = want[key]
    if got == "nil":  # a field of another message type: past a fresh header (icmp timestamps), or a variant's
        hdr = [p for p in json.load(open(sys.argv[1])) if p["name"] == key.split(".")[0]][0]["hdr_len"]
        assert f["bitoff"] + f["bits"] > 8 * hdr or key in variant, (key, "absent but inside the header")
        continue
    if f["type"] in ("mac", "ipv4", "ipv6"):
        assert got == f["default"], (key, got, f["default"])
    elif f["type"] == "bool":
        assert got == f["default"], (key, got, f["default"])
    else:
        assert int(got) == f["default_value"], (key, got, f["default_value"])
    n += 1
assert n > 100, n
print(n, "defaults agree")
EOF

# Wireshark names are tshark's (variable fields are subtrees there, not fields)
tshark -G fields 2>/dev/null | awk -F'\t' '$1 == "F" {print $3}' >"$T/tshark-fields.txt"
check "every fixed field's Wireshark name is a tshark field" "$PY" - "$T/all.json" "$T/tshark-fields.txt" <<'EOF'
import json, sys
known = set(open(sys.argv[2]).read().split())
# names tshark has no field for, with the reason
own = {"sll.reserved": "tshark shows SLL's unused address bytes as part of sll.src.eth, no field",
       "ip.ihl": "Scapy's ihl (hidden, in words); tshark has ip.hdr_len in bytes only",
       "tcp.dataofs": "Scapy's dataofs (hidden, in words); tshark has tcp.hdr_len in bytes only",
       "geneve.optlen": "tshark has no field for the header's options length (geneve.option.length is one option's)"}
bad = [f["wireshark"] for p in json.load(open(sys.argv[1])) for f in p["fields"]
       if f["wireshark"] and f["type"] != "var" and f["wireshark"] not in known and f["wireshark"] not in own]
assert not bad, bad
EOF

# umpa(1) documents the syntax of every variable field
check "umpa(1) documents every variable field's syntax" "$PY" - "$T/all.json" "$srcdir/tools/umpa.1" <<'EOF'
import json, sys
man = open(sys.argv[2]).read().replace("\\-", "-").replace("\\&", "")
missing = [p["name"] + "." + f["name"] for p in json.load(open(sys.argv[1])) for f in p["fields"]
           if f["type"] == "var" and (f["wireshark"] or p["name"] + "." + f["name"]) not in man]
assert not missing, missing
assert "umpa fields" in man and ".SH SCAPY NAMES" in man and ".SH SHELL" in man
EOF

# unknown protocol: one usage line with the nearest name
"$UMPA" fields ipv7 >"$T/out" 2>"$T/err"; rc=$?
check "fields ipv7: exit 2" test $rc -eq 2
check "fields ipv7: one line, did you mean" test "$(wc -l <"$T/err")" -eq 1 -a -n "$(grep -E "unknown protocol 'ipv7': did you mean 'ipv[46]'" "$T/err")"
"$UMPA" fields tpc >"$T/out" 2>"$T/err"
check "fields tpc: did you mean 'tcp'" grep -q "did you mean 'tcp'" "$T/err"
"$UMPA" fields zzzzzz >"$T/out" 2>"$T/err"; rc=$?
check "fields zzzzzz: exit 2 and no suggestion" test $rc -eq 2 -a -z "$(grep "did you mean" "$T/err")"
"$UMPA" fields --bogus >"$T/out" 2>"$T/err"; rc=$?
check "fields --bogus: exit 2" test $rc -eq 2
"$UMPA" fiels >"$T/out" 2>"$T/err"; rc=$?
check "umpa fiels: exit 2, did you mean 'fields'" test $rc -eq 2 -a -n "$(grep "did you mean 'fields'" "$T/err")"

echo "fields: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
