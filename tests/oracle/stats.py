#!/usr/bin/env python3
"""stats.py - `umpa show --stats conv|proto|io,1` against tshark's -z conv,ip/ipv6/tcp/udp,
-z io,phs and -z io,stat,1 on real captures: the same conversations with the same
frames and bytes each way, relative start and duration (to the microsecond); the
same frames and bytes per interval; the same frames and bytes for every protocol
chain made of protocols umpa decodes.  usage: stats.py UMPA FILE...  exit 1 on a
difference."""
import re
import subprocess
import sys

KNOWN = {"eth", "sll", "vlan", "arp", "ip", "ipv6", "icmp", "icmpv6", "tcp", "udp", "dns", "tls"}
fails = 0


def check(name, got, want):
    global fails
    if got == want:
        print("ok: %s" % name)
    else:
        fails += 1
        print("FAILED: %s\n  umpa:   %s\n  tshark: %s" % (name, got, want))


def out(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120).stdout.decode()


def tshark_conv(f):
    convs = set()
    for kind, fam, proto in (("ip", 4, 0), ("ipv6", 6, 0), ("tcp", 0, 6), ("udp", 0, 17)):
        for l in out(["tshark", "-r", f, "-q", "-z", "conv," + kind]).splitlines():
            m = re.match(r"^(\S+)\s+<->\s+(\S+)\s+(\d+) (\d+) \w+\s+(\d+) (\d+) \w+\s+(\d+) (\d+) \w+\s+([\d.]+)\s+([\d.]+)", l)
            if m:
                a, b = m.group(1), m.group(2)
                if proto:  # tshark: addr:port; umpa: v4 addr:port, v6 addr.port
                    a = re.sub(r"^(.*):(\d+)$", lambda x: x.group(1) + (":" if "." in x.group(1) and ":" not in x.group(1) else ".") + x.group(2), a)
                    b = re.sub(r"^(.*):(\d+)$", lambda x: x.group(1) + (":" if "." in x.group(1) and ":" not in x.group(1) else ".") + x.group(2), b)
                # tshark's "<-" columns are B->A, "->" A->B
                convs.add((proto, a, b, int(m.group(5)), int(m.group(6)), int(m.group(3)), int(m.group(4)),
                           "%.6f" % float(m.group(9)), "%.4f" % float(m.group(10))))
    return convs


def umpa_conv(umpa, f):
    convs, proto = set(), 0
    for l in out([umpa, "show", f, "--stats", "conv"]).splitlines():
        if l.endswith("conversations"):
            proto = 6 if l.startswith("TCP") else 17 if l.startswith("UDP") else 0
        m = re.match(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s+([\d.]+)\s+([\d.]+)$", l)
        if m:
            convs.add((proto, m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)),
                       int(m.group(6)), "%.6f" % float(m.group(7)), "%.4f" % float(m.group(8))))
    return convs


def tshark_io(f):
    rows = []
    for l in out(["tshark", "-r", f, "-q", "-z", "io,stat,1"]).splitlines():
        m = re.match(r"^\|\s*\d+\s*<>\s*(?:\d+|Dur)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|$", l)
        if m:
            rows.append((int(m.group(1)), int(m.group(2))))
    return rows


def umpa_io(umpa, f):
    rows = []
    for l in out([umpa, "show", f, "--stats", "io,1"]).splitlines():
        m = re.match(r"^\s*[\d.e+]+\s+[\d.e+]+\s+(\d+)\s+(\d+)$", l)
        if m:
            rows.append((int(m.group(1)), int(m.group(2))))
    return rows


def phs(text):
    nodes, stack = {}, []
    for l in text.splitlines():
        m = re.match(r"^( *)(\S+)\s+frames:(\d+) bytes:(\d+)$", l)
        if not m:
            continue
        d = len(m.group(1)) // 2
        stack = stack[:d] + [m.group(2)]
        if all(x in KNOWN for x in stack):
            nodes["/".join(stack)] = (int(m.group(3)), int(m.group(4)))
    return nodes


def main():
    umpa, files = sys.argv[1], sys.argv[2:]
    for f in files:
        n = f.rsplit("/", 1)[-1]
        tc, uc = tshark_conv(f), umpa_conv(umpa, f)
        check("%s: --stats conv = tshark -z conv,ip/ipv6/tcp/udp (%d conversations)" % (n, len(tc)), sorted(uc), sorted(tc))
        ti, ui = tshark_io(f), umpa_io(umpa, f)
        # tshark's last row runs to the end of the capture: umpa's last interval
        check("%s: --stats io,1 = tshark -z io,stat,1 (%d intervals)" % (n, len(ti)), ui, ti)
        tp = phs(out(["tshark", "-r", f, "-q", "-z", "io,phs"]))
        up = phs(out([umpa, "show", f, "--stats", "proto"]))
        check("%s: --stats proto = tshark -z io,phs (%d protocol chains)" % (n, len(tp)), up, tp)
        if not tc or not ti or not tp:  # a comparison of nothing proves nothing
            global fails
            fails += 1
            print("FAILED: %s: tshark gave nothing to compare" % n)
    print("stats: %d failed" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
