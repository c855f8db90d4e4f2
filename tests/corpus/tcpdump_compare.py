#!/usr/bin/env python3
"""tcpdump_compare.py - umpa's one-line output against `TZ=UTC tcpdump -nn -r` over the corpus.

For every capture file of the corpus it runs `umpa show F`, `umpa show --json F`
(for the layer list) and `TZ=UTC tcpdump -nn -r F`, and compares, packet by
packet, umpa's line with tcpdump's first line for the packets that are Ethernet
(+802.1Q) carrying IPv4, IPv6 or ARP, the ones umpa decodes.  A file whose packet
count differs between the two (tcpdump prints some packets over several lines
that do not start with a time) is left out and counted.

Every differing packet must be listed in the known-differences file
(tests/corpus/tcpdump_diffs.txt): lines `FILE CATEGORY FRAMES` (FRAMES a list of
frame numbers and ranges, "1-4,9").  A difference not listed there is NEW and
fails the run; listed packets that now match are reported (run with --update to
rewrite the list after a deliberate improvement).  The categories, the reasons:

  undecoded   umpa keeps a part of the packet as bytes that tcpdump decodes
              (a protocol umpa has no dissector for: GRE, OSPF, BGP, ...)
  app         tcpdump decodes the TCP or UDP payload (BGP, HTTP, HSRP, NTP, ...),
              which umpa shows as "length N" / "UDP, length N"
  multiline   tcpdump prints this packet over several lines
  truncated   the capture holds less than the headers: tcpdump and umpa mark
              the cut differently ("[|tcp]" against "[truncated tcp: ...]")
  invalid     umpa marks a field that lies ([invalid ...], [bad ... checksum]:
              tcpdump -nn checks no checksum; a TCP/UDP checksum left to the
              NIC, the partial pseudo-header sum of checksum offload, is
              "unverified" and unmarked, so those lines are equal) or tcpdump
              prints such packets its own way
  tcp-option  a TCP option umpa shows as bytes (MPTCP, TCP-AO, experimental
              AccECN) that tcpdump decodes
  format:P    both decode the packet; the text of protocol P (the deepest one
              umpa decodes) differs from tcpdump's

usage: tcpdump_compare.py [--update] [--show N] UMPA CORPUS DIFFS-FILE
Prints the identical count and percentage; exit 1 on a new difference.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys

TS = re.compile(r"^\d\d:\d\d:\d\d\.\d{6} ")
LAYER = re.compile(r'"_layer":"([^"]*)"')
WANT = {"ip", "ipv6", "arp"}


def run(cmd, env=None):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    return r.stdout.decode("utf-8", "replace")


def one_file(umpa, path):
    env = dict(os.environ, TZ="UTC")
    line = run([umpa, "show", path])
    js = run([umpa, "show", "--json", path])
    td = run(["tcpdump", "-nn", "-r", path], env)
    if line is None or js is None or td is None:
        return (path, None)
    ulines = line.splitlines()
    layers = [LAYER.findall(l) for l in js.splitlines()]
    pk = []  # tcpdump: [first line, continuation count]
    for l in td.splitlines():
        if TS.match(l):
            pk.append([l, 0])
        elif pk:
            pk[-1][1] += 1
    if len(ulines) != len(layers) or len(pk) != len(ulines):
        return (path, "count")
    res = []
    for i, (u, ls, (t, cont)) in enumerate(zip(ulines, layers, pk), 1):
        names = [x for x in ls if x != "vlan"]
        if len(names) < 2 or names[0] != "eth" or names[1] not in WANT:
            continue
        if u == t and not cont:
            res.append((i, None, u, t))
            continue
        if cont:
            cat = "multiline"
        elif names[-1] == "raw" and (t.startswith(u) or re.search(r": UDP, length \d+$", u)):
            cat = "app"
        elif "[truncated" in u or "[|" in t:
            cat = "truncated"
        elif "[invalid" in u or "[bad " in u:
            cat = "invalid"
        elif "raw" in names and names.index("raw") < len(names) - 1 or (
                names[-1] == "raw" and names[-2] not in ("tcp", "udp")):
            cat = "undecoded"
        else:
            dec = [x for x in names if x != "raw"]
            cat = "format:" + dec[-1]
            if "unknown-" in u or "exp 0x" in u:
                cat = "tcp-option"
        res.append((i, cat, u, t))
    return (path, res)


def ranges(nums):
    out, s = [], None
    for n in sorted(nums):
        if s is not None and n == e + 1:
            e = n
            continue
        if s is not None:
            out.append(str(s) if s == e else "%d-%d" % (s, e))
        s = e = n
    if s is not None:
        out.append(str(s) if s == e else "%d-%d" % (s, e))
    return ",".join(out)


def parse_ranges(t):
    out = set()
    for part in t.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def main():
    args = sys.argv[1:]
    update = "--update" in args
    show = 0
    if "--show" in args:
        i = args.index("--show")
        show = int(args[i + 1])
        del args[i:i + 2]
    args = [a for a in args if a != "--update"]
    if len(args) != 3:
        sys.exit(__doc__.split("usage: ")[1].split("\n")[0] and "usage: tcpdump_compare.py [--update] [--show N] UMPA CORPUS DIFFS-FILE")
    umpa, corpus, diffs = args
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                   if f.endswith((".pcap", ".pcapng", ".cap")))
    jobs = int(os.environ.get("UMPA_CORPUS_JOBS", os.cpu_count() or 2))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        results = list(ex.map(lambda f: one_file(umpa, f), files))
    known = {}
    if os.path.exists(diffs):
        for l in open(diffs):
            l = l.split("#", 1)[0].split()
            if len(l) == 3:
                known.setdefault(l[0], {}).update({n: l[1] for n in parse_ranges(l[2])})
    total = same = skipped = 0
    cats = {}
    new, fixed, table = [], 0, {}
    shown = 0
    for path, res in results:
        name = os.path.basename(path)
        if res is None or res == "count":
            skipped += 1
            continue
        k = known.get(name, {})
        for i, cat, u, t in res:
            total += 1
            if cat is None:
                same += 1
                fixed += i in k
                continue
            cats[cat] = cats.get(cat, 0) + 1
            table.setdefault((name, cat), []).append(i)
            if i not in k:
                new.append("%s #%d (%s)\n  umpa:    %s\n  tcpdump: %s" % (name, i, cat, u, t))
            if shown < show:
                shown += 1
                print("%s #%d %s\n  umpa:    %s\n  tcpdump: %s" % (name, i, cat, u, t))
    pct = 100.0 * same / total if total else 0
    print("tcpdump_compare: %d of %d Ethernet IP/IPv6/ARP packets identical to tcpdump -nn (%.1f%%); "
          "%d files left out (packet counts differ)" % (same, total, pct, skipped))
    for c in sorted(cats, key=lambda c: -cats[c]):
        print("  %6d %s" % (cats[c], c))
    if update:
        with open(diffs, "w") as f:
            f.write("# tcpdump_diffs.txt - packets whose `umpa show` line differs from `TZ=UTC tcpdump -nn -r`,\n"
                    "# written by tests/corpus/tcpdump_compare.py --update; the categories are explained there.\n"
                    "# FILE CATEGORY FRAMES\n")
            for (name, cat) in sorted(table):
                f.write("%s %s %s\n" % (name, cat, ranges(table[(name, cat)])))
        print("tcpdump_compare: wrote %s" % diffs)
        return 0
    if fixed:
        print("tcpdump_compare: %d listed packets now match (run with --update to shrink the list)" % fixed)
    if new:
        print("tcpdump_compare: FAILED: %d new differences:" % len(new))
        for n in new[:20]:
            print(n)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
