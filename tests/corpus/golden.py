#!/usr/bin/python3
"""golden.py - golden outputs for the capture-file corpus, as tcpdump's tests/TESTLIST.

For each corpus file that holds protocols umpa claims, tests/corpus/golden/ keeps
what `umpa show` (one line per packet, NAME.line) and `umpa show --json`
(NAME.json.gz) print for it, and TESTLIST names the files with how they were
checked.  Two commands:

  golden.py make    regenerate: run umpa on every corpus file, keep the files
                    with at least one packet of a claimed protocol (arp, ip,
                    ipv6, icmp, icmpv6, udp, tcp, dns, tls, vxlan, gre,
                    erspan, mpls, geneve, ieee8021ad, dhcp,
                    igmp) and at most
                    --max-packets packets, compare every one of their packets
                    field by field with tshark (tests/oracle/oracle.py's
                    comparison: every field umpa shows under a Wireshark name
                    must have tshark's value, layers must line up, checksum
                    verdicts must agree), and write the golden files of those
                    that agree, or whose every disagreement is explained in
                    tests/corpus/explained.txt.  The others are listed with
                    their disagreements in golden/LEFTOUT (nothing else is
                    written for them): fix umpa or explain the difference,
                    then run make again.
  golden.py check   the test (tests/corpus/golden.sh): run umpa on every file of
                    TESTLIST and compare both outputs with the golden files;
                    any change fails, with the first differing line shown.

Payload that umpa does not claim (umpa's trailing raw layer, where tshark
decodes SNMP, HTTP, a tunnel and its inner frame...) is not compared: tshark's
layers from the first protocol umpa has no dissector for on are dropped before
the layers are lined up.  When tshark
marks a packet malformed, a field it does not show is not held against umpa
(oracle.py's rule for frames broken on purpose; the corpus is full of them), and
a field umpa names after a Wireshark expert info ("ip.opt.len.invalid") agrees
when tshark raised that expert info on the packet.

explained.txt: one disagreement kind per line,
    FILE-GLOB  KEY  -- why umpa's answer is the right one (or why it differs)
KEY is the field or layer the comparison names ("dns.flags.z", "layer mdns",
"udp checksum"); '#' starts a comment.

Usage: golden.py make|check [--umpa PATH] [--corpus DIR] [--golden DIR]
       [--tshark PATH] [--only NAME,...] [--max-packets N] [--jobs N] [-v]
Both run with TZ=UTC (the one-line form prints local time).  Exit status:
0 ok, 1 differences (check) or disagreements left out (make, informational),
77 the corpus or (make) tshark is missing, 99 the harness failed.
"""

import argparse
import concurrent.futures
import fnmatch
import gzip
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import oracle  # noqa: E402  (the tshark comparison, shared with tests/oracle)

SKIP, HARD = 77, 99
CLAIMED = {"arp", "ip", "ipv6", "icmp", "icmpv6", "udp", "tcp", "dns", "tls", "vxlan", "gre", "erspan", "mpls", "geneve",
           "ieee8021ad", "dhcp", "igmp"}
CLAIMED |= {"http"}
CLAIMED |= {"sctp", "dhcpv6", "ntp", "lldp"}
# tshark layers that stand for something umpa dissects (the rest is payload to umpa)
WS_KNOWN = set(oracle.WS_PROTOS) | {"sll", "null", "tls", "ieee8021ad"}
ENV = dict(os.environ, TZ="UTC", LC_ALL="C")


def run_umpa(umpa, path):
    """(line text, json text, error or None) of `umpa show` over @path."""
    out = []
    for args in ([], ["--json"]):
        try:
            r = subprocess.run([umpa, "show"] + args + [path], capture_output=True, timeout=30, env=ENV)
        except subprocess.TimeoutExpired:
            return None, None, "umpa show %s: timed out" % " ".join(args)
        if r.returncode != 0 or r.stderr:
            return None, None, "umpa show %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                             r.stderr.decode(errors="replace").strip())
        out.append(r.stdout.decode("utf-8", errors="surrogateescape"))
    return out[0], out[1], None


class Stub:
    """What oracle.compare_tshark reads of a case."""

    def __init__(self, malformed):
        self.skip = set()
        self.malformed = ["(corpus)"] if malformed else []


def key_of(err):
    """The field or layer a disagreement is about: 'dns.flags.z', 'layer mdns', 'udp checksum'."""
    k = err.split(":", 1)[0]
    return re.sub(r"\[\d+\]$", "", k)


def load_explained(path):
    rules = []
    if not os.path.exists(path):
        return rules
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        head, _, why = line.partition("--")
        parts = head.split(None, 1)
        if len(parts) != 2 or not why.strip():
            raise SystemExit("%s:%d: expected 'FILE-GLOB KEY -- why'" % (path, n))
        rules.append((parts[0], parts[1].strip(), why.strip()))
    return rules


def compare_file(a, name, path, wsnames):
    """Compare umpa with tshark over one file: (line, json, packets, fields, [disagreements], error)."""
    line, js, err = run_umpa(a.umpa, path)
    if err:
        return None, None, 0, 0, [], err
    upk = oracle.umpa_packets(js)
    if not any(ul.name in CLAIMED for p in upk for ul in p):
        return None, None, len(upk), 0, [], "no claimed protocol"
    if len(upk) > a.max_packets:
        return None, None, len(upk), 0, [], "more than %d packets" % a.max_packets
    targs = [a.tshark, "-n", "-r", path, "-T", "json"]
    for p in oracle.TSHARK_PREFS:
        targs += ["-o", p]
    try:
        r = subprocess.run(targs, capture_output=True, timeout=120, env=ENV)
    except subprocess.TimeoutExpired:
        return None, None, len(upk), 0, [], "tshark timed out"
    try:
        wpk = oracle.ws_packets(oracle.loads(r.stdout.decode("utf-8", errors="replace") or "[]"))
    except ValueError as e:
        return None, None, len(upk), 0, [], "tshark's JSON: %s" % e
    errs = []
    if len(wpk) != len(upk):
        errs.append("packets: umpa %d, tshark %d" % (len(upk), len(wpk)))
    nfields = 0
    for i, (ul, wp) in enumerate(zip(upk, wpk)):
        # what umpa does not claim is payload to it: drop tshark's layers for it, and
        # umpa's trailing raw layer when tshark decoded those bytes as something else (a
        # tunnel's inner frame too: after a layer umpa does not claim, all is payload)
        known = next((j for j, w in enumerate(wp.layers) if w.name not in WS_KNOWN), len(wp.layers))
        wp.layers = wp.layers[:known]
        if ul and ul[-1].name == "raw" and not any(w.name == "data" for w in wp.layers):
            ul = ul[:-1]
        # a field umpa names after one of Wireshark's expert infos ("ip.opt.len.invalid") agrees
        # when tshark raised that expert info on this packet (it is no field in tshark's tree)
        experts = set(e[1] for e in wp.experts)
        st = {"tshark": 0}
        for u in ul:
            n0 = len(u.items)
            u.items = [(k, v) for k, v in u.items if k not in experts]
            st["tshark"] += n0 - len(u.items)
        perr = []
        oracle.compare_tshark(Stub(wp.malformed), ul, wp, wsnames, perr, st)
        nfields += st["tshark"]
        errs += ["%s [packet %d]" % (e, i + 1) for e in perr]
    return line, js, len(upk), nfields, errs, None


def ws_field_names(tshark):
    names = set()
    r = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True, timeout=120)
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] in ("F", "P"):
            names.add(parts[2])
    return names


def write_if_changed(path, data):
    if os.path.exists(path) and open(path, "rb").read() == data:
        return
    with open(path, "wb") as f:
        f.write(data)


def gz(text):
    return gzip.compress(text.encode("utf-8", errors="surrogateescape"), 9, mtime=0)


def cmd_make(a):
    if not shutil.which(a.tshark):
        print("golden: no tshark: cannot compare, nothing written")
        return SKIP
    rules = load_explained(a.explained)
    wsnames = ws_field_names(a.tshark)
    files = sorted(f for f in os.listdir(a.corpus) if os.path.isfile(os.path.join(a.corpus, f)))
    if a.only:
        files = [f for f in files if f in a.only]
    os.makedirs(a.golden, exist_ok=True)
    kept, left, used_rules = [], [], set()
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = {f: ex.submit(compare_file, a, f, os.path.join(a.corpus, f), wsnames) for f in files}
        for f in files:
            line, js, npk, nfields, errs, err = futs[f].result()
            if err:
                if a.verbose:
                    print("-- %s: %s" % (f, err))
                continue
            unexplained, why = [], set()
            for e in errs:
                k = key_of(e)
                hit = next((r for r in rules if fnmatch.fnmatch(f, r[0]) and r[1] == k), None)
                if hit:
                    used_rules.add(hit)
                    why.add(k)
                else:
                    unexplained.append(e)
            if unexplained:
                left.append((f, unexplained))
                continue
            kept.append((f, npk, nfields, sorted(why)))
            write_if_changed(os.path.join(a.golden, f + ".line"), line.encode("utf-8", errors="surrogateescape"))
            write_if_changed(os.path.join(a.golden, f + ".json.gz"), gz(js))
    names = set(f for f, *_ in kept)
    if not a.only:  # a full run owns the directory: drop golden files of files no longer kept
        for g in os.listdir(a.golden):
            base = re.sub(r"\.(line|json\.gz)$", "", g)
            if base != g and base not in names:
                os.remove(os.path.join(a.golden, g))
    old = {}
    tl = os.path.join(a.golden, "TESTLIST")
    if a.only and os.path.exists(tl):
        for ln in open(tl):
            if ln.strip() and not ln.startswith("#"):
                old[ln.split()[0]] = ln
    for f, npk, nfields, why in kept:
        old[f] = "%s %d packets, %d fields equal to tshark's%s\n" % (
            f, npk, nfields, "; explained: " + ", ".join(why) if why else "")
    with open(tl, "w") as out:
        out.write("# Corpus files with golden outputs (tests/corpus/golden.py make; tshark %s).\n" % tshark_version(a))
        out.write("# NAME  packets, field values umpa shows that equal tshark's, explained disagreements.\n")
        for f in sorted(old):
            out.write(old[f])
    # the files left out, with what they disagree on: the list to work through (fix or explain)
    lo = os.path.join(a.golden, "LEFTOUT")
    prev = {}
    if a.only and os.path.exists(lo):
        for ln in open(lo):
            if ln.strip() and not ln.startswith("#"):
                prev[ln.split()[0]] = ln
    for f in names:
        prev.pop(f, None)
    for f, errs in left:
        keys = sorted(set(key_of(e) for e in errs))
        prev[f] = "%s %d disagreements on: %s; first: %s\n" % (f, len(errs), ", ".join(keys), errs[0].strip()[:200])
    with open(lo, "w") as out:
        out.write("# Corpus files with protocols umpa claims but no golden outputs: umpa and tshark disagree\n")
        out.write("# (tests/corpus/golden.py make).  Fix umpa, or explain in tests/corpus/explained.txt.\n")
        for f in sorted(prev):
            out.write(prev[f])
    for f, errs in left:
        shown = errs if a.verbose else errs[:4]
        print("LEFT OUT %s: %s%s" % (f, "; ".join(shown), " (+%d more)" % (len(errs) - 4) if len(shown) < len(errs) else ""))
    for r in rules:
        if r not in used_rules and not a.only:
            print("unused explanation: %s %s" % (r[0], r[1]))
    print("golden make: %d files kept (%d packets, %d fields equal to tshark's), %d left out with disagreements "
          "(%.0f s)" % (len(kept), sum(k[1] for k in kept), sum(k[2] for k in kept), len(left), time.time() - t0))
    return 1 if left else 0


def tshark_version(a):
    r = subprocess.run([a.tshark, "--version"], capture_output=True, text=True)
    m = re.search(r"TShark \(Wireshark\) ([0-9.]+)", r.stdout)
    return m.group(1) if m else "?"


def first_diff(want, got):
    w, g = want.splitlines(), got.splitlines()
    for i in range(max(len(w), len(g))):
        a = w[i] if i < len(w) else "(end)"
        b = g[i] if i < len(g) else "(end)"
        if a != b:
            return "line %d:\n      golden: %s\n      now:    %s" % (i + 1, a[:300], b[:300])
    return "(no difference?)"


def check_one(a, f):
    path = os.path.join(a.corpus, f)
    if not os.path.exists(path):
        return "corpus file missing"
    line, js, err = run_umpa(a.umpa, path)
    if err:
        return err
    msgs = []
    want = open(os.path.join(a.golden, f + ".line"), encoding="utf-8", errors="surrogateescape").read()
    if line != want:
        msgs.append("one-line output changed, " + first_diff(want, line))
    want = gzip.decompress(open(os.path.join(a.golden, f + ".json.gz"), "rb").read()).decode(
        "utf-8", errors="surrogateescape")
    if js != want:
        msgs.append("JSON output changed, " + first_diff(want, js))
    return "\n    ".join(msgs) or None


def cmd_check(a):
    tl = os.path.join(a.golden, "TESTLIST")
    files = [ln.split()[0] for ln in open(tl) if ln.strip() and not ln.startswith("#")]
    if a.only:
        files = [f for f in files if f in a.only]
    if not files:
        print("golden: FAILED: no files in %s" % tl)
        return 1
    t0 = time.time()
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for f, msg in zip(files, ex.map(lambda f: check_one(a, f), files)):
            if msg:
                bad += 1
                print("FAILED %s: %s" % (f, msg))
            elif a.verbose:
                print("ok %s" % f)
    print("golden: %d files, %d unchanged, %d changed (%.1f s)%s" % (
        len(files), len(files) - bad, bad, time.time() - t0,
        "; if the change is intended, regenerate with tests/corpus/golden.py make and review the diff" if bad else ""))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description="golden outputs of umpa show for the corpus")
    ap.add_argument("command", choices=("make", "check"))
    ap.add_argument("--umpa", default=os.environ.get("UMPA", "umpa"))
    ap.add_argument("--corpus", default=os.environ.get("UMPA_CORPUS", os.path.join(
        HERE, "..", "..", "..", "shared", "corpus", "tcpdump-tests")))
    ap.add_argument("--golden", default=os.path.join(HERE, "golden"))
    ap.add_argument("--explained", default=os.path.join(HERE, "explained.txt"))
    ap.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
    ap.add_argument("--only", type=lambda s: set(s.split(",")))
    ap.add_argument("--max-packets", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(a.corpus):
        print("golden: no corpus directory at %s: skipped" % a.corpus)
        return SKIP
    return cmd_make(a) if a.command == "make" else cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
