#!/usr/bin/python3
"""oracle.py - check umpa's packets against two independent dissectors.

Builds every case of cases.lua into one pcap with `umpa build -f`, then
dissects that file three ways and compares, per packet and per field:

  1. umpa vs tshark: every field `umpa show --json` emits (Wireshark names) must
     have the value tshark shows under the same name, in the same layer, in the
     same order of occurrence.  Representations are normalised (hex strings and
     decimal strings to integers, booleans to 0/1); unit differences are
     converted explicitly per field (UMPA_TO_WS below), never guessed, and so
     are the few places where tshark names or shows a field differently by
     context (WS_SHOWN_ONLY_IF, WS_NOT_IN_QUOTED, WS_LAYER_ALIASES, ws_view).
     A field name umpa uses that tshark does not know at all is reported too.
  2. umpa vs Scapy: for the fields in scapy_table() (Wireshark name -> Scapy
     layer attribute, in tshark's units) the values must agree with Scapy's
     rdpcap dissection.
  3. tshark finds nothing wrong: no malformed packet and no expert info of
     severity warning or error, unless the case says it is malformed on
     purpose (`malformed="pattern,..."`: each pattern must then match at least
     one of tshark's complaints, so the lie is proven to be on the wire, and
     only complaints matching a pattern are allowed; tshark may then also stop
     early: fields it does not show, and the rest of the frame as a trailing
     "data" layer, are not held against umpa).  umpa's own marks
     (_bad_checksum, _invalid, _truncated) must be exactly the case's
     `uflags`, and a checksum tshark verifies as bad must be one umpa marks
     bad, and the other way round.
  4. Round trip: the layers umpa shows for the file are the case's `layers`,
     and fields the expression set with plain literals or `local` constants
     (`ip{ttl=7, src=A}`, by short name or a Scapy alias in BUILD_ALIASES) or
     the case lists in `expect` read back with those values.

cases.lua is a Lua chunk for `umpa build -f`; each case is one line group

    case{"description", ether{}/ip{ttl=0}/udp{}, layers="eth/ip/udp",
         malformed="...", uflags="ip:bad_checksum", expect="ip.ttl=0",
         skip="field,...", count=1}

and the chunk returns the packets.  This script reads the metadata from the
text (a small Lua tokenizer, below), so the Lua side stays plain.

Usage: oracle.py [--umpa PATH] [--cases FILE] [--keep DIR] [--pcapng] [-v] [--only N,...]
(run it with /usr/bin/python3, where python3-scapy is; tests/oracle/oracle.sh
is the automake wrapper)
Exit status: 0 all cases agree, 1 some case failed, 77 a tool is missing
(tshark, Scapy), 99 the harness itself failed (umpa build or show broke).
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
HARD = 99

# ---------------------------------------------------------------------------
# JSON with duplicate keys: tshark's -T json repeats keys (two "vlan" layers,
# one "tcp.option_kind" per option); keep every pair, in order.


class Obj(list):
    """A JSON object as an ordered list of (key, value) pairs."""


def loads(text):
    return json.loads(text, object_pairs_hook=Obj)


def oget(obj, key, default=None):
    for k, v in obj:
        if k == key:
            return v
    return default


# ---------------------------------------------------------------------------
# Value normalisation: every value becomes an int or a string.

HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
DEC_RE = re.compile(r"^-?[0-9]+$")
BYTES_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$")


def norm(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v == int(v) else v
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        return ":".join("%02x" % b for b in v)
    s = str(v)
    if HEX_RE.match(s):
        return int(s, 16)
    if DEC_RE.match(s):
        return int(s)
    if s in ("true", "True"):
        return 1
    if s in ("false", "False"):
        return 0
    if BYTES_RE.match(s):
        return s.lower()
    return s


# umpa's value (normalised) -> the unit tshark shows.  Explicit, per field;
# each entry says why.
UMPA_TO_WS = {
    # tcp.c: the three reserved bits as a number; Wireshark's is FT_BOOLEAN
    # (mask 0xe00): set when any of them is.
    "tcp.flags.res": lambda v: 1 if v else 0,
    # ipv6_route.c: the SRH tag is a 16-bit number; Wireshark's is FT_BYTES.
    "ipv6.routing.srh.tag": lambda v: "%02x:%02x" % (v >> 8, v & 0xff),
}

# Fields tshark shows only in some contexts: key -> (umpa field of the same
# layer, the value it must have for tshark to show the key).
WS_SHOWN_ONLY_IF = {
    # packet-dns.c: a query's flags tree has no AA, RA, AD or rcode.
    "dns.flags.authoritative": ("dns.flags.response", 1),
    "dns.flags.recavail": ("dns.flags.response", 1),
    "dns.flags.authenticated": ("dns.flags.response", 1),
    "dns.flags.rcode": ("dns.flags.response", 1),
}

# ---------------------------------------------------------------------------
# Layer names: umpa protocol name -> tshark protocol.  Extension headers of
# IPv6 are layers in umpa but subtrees of the "ipv6" protocol in tshark: their
# fields are looked up in the enclosing ipv6 layer.

UMPA_TO_WS_LAYER = {
    "eth": "eth", "ether": "eth", "vlan": "vlan", "arp": "arp", "ip": "ip", "ipv6": "ipv6",
    "icmp": "icmp", "icmpv6": "icmpv6", "udp": "udp", "tcp": "tcp", "dns": "dns",
    "raw": "data", "data": "data", "vxlan": "vxlan", "gre": "gre", "erspan": "erspan", "mpls": "mpls",
    "geneve": "geneve", "ieee8021ad": "ieee8021ad", "dhcp": "dhcp", "igmp": "igmp",
    "http": "http",
}
UMPA_TO_WS_LAYER.update({"sctp": "sctp", "dhcpv6": "dhcpv6", "ntp": "ntp", "lldp": "lldp"})
IPV6_EXT = ("ipv6_hop", "ipv6_route", "ipv6_frag", "ipv6_dst")

# tshark layers an umpa layer may also appear as, with the field names they
# use there (None: tshark has no such field in that layer).
WS_LAYER_ALIASES = {
    # (an 802.1ad S-tag is its own umpa protocol, ieee8021ad, with Wireshark's names)
}

# Expert infos tshark gives well-formed packets: key -> why it is fine.
WS_BENIGN_EXPERTS = {
    "tcp.connection.rst": "every RST gets this warning",
}

# Fields tshark does not show for a layer quoted inside an ICMP error.
WS_NOT_IN_QUOTED = {
    "tcp.len": "packet-tcp.c adds no tcp.len to a segment quoted in an ICMP error",
}

# tshark's pseudo-protocols for link types with no header (LINKTYPE_RAW...).
WS_LINK_PSEUDO = {"raw"}

# Protocols tshark may nest inside another's tree (ICMP quotations, echo data).
WS_PROTOS = {"eth", "vlan", "arp", "ip", "ipv6", "icmp", "icmpv6", "udp", "tcp", "dns", "data", "vxlan", "gre", "erspan",
             "mpls", "geneve", "ieee8021ad", "dhcp", "igmp"}
WS_PROTOS |= {"http"}
WS_PROTOS |= {"sctp", "dhcpv6", "ntp", "lldp"}

# tshark layers that are part of the umpa layer before them: key -> (the layer
# they follow, why).  Their fields are compared as that layer's.
WS_MERGED = {
    # packet-sctp.c hands each DATA chunk's user data to a "data" layer; umpa
    # shows it inside its chunk, as data.data
    "data": ("sctp", "the user data of an SCTP DATA chunk"),
    # ... and the chunks after it in a second "sctp" tree
    "sctp": ("sctp", "the chunks after an SCTP DATA chunk's user data"),
}

SEV_CHAT, SEV_NOTE, SEV_WARN, SEV_ERROR = 0x00200000, 0x00400000, 0x00600000, 0x00800000
SEV_NAME = {SEV_CHAT: "chat", SEV_NOTE: "note", SEV_WARN: "warning", SEV_ERROR: "error"}

CHECKSUMMED = ("ip", "icmp", "icmpv6", "udp", "tcp", "gre", "igmp", "sctp")


class WsLayer:
    def __init__(self, name):
        self.name = name
        self.fields = {}   # key -> [values in order]
        self.order = []    # keys in order (first occurrence)
        self.cursor = {}   # key -> next occurrence to compare (shared by umpa layers)

    def add(self, k, v):
        if k not in self.fields:
            self.fields[k] = []
            self.order.append(k)
        self.fields[k].append(v)


class WsPacket:
    def __init__(self):
        self.layers = []
        self.experts = []   # (layer, key, message, severity)
        self.malformed = False


def ws_grouped(obj):
    """obj's members with each repeated key's values gathered at its first
    occurrence, as umpa's JSON gathers them (into arrays, as tshark's
    --no-duplicate-keys), so values compare in the same order.  Nested
    protocols and expert infos keep their places (they become layers)."""
    order, by = [], {}
    for k, v in obj:
        if k in WS_PROTOS or k.startswith("_ws."):
            order.append((k, [v]))
        elif k in by:
            by[k].append(v)
        else:
            by[k] = [v]
            order.append((k, by[k]))
    return [(k, x) for k, vs in order for x in vs]


def ws_walk(pkt, layer, obj):
    """Flatten a tshark tree into layer, splitting nested protocols off."""
    for k, v in ws_grouped(obj):
        if isinstance(v, Obj):
            if k == "_ws.expert":
                key = next((kk for kk, vv in v if not kk.startswith("_ws.expert.")), "")
                sev = int(oget(v, "_ws.expert.severity", "0") or 0)
                pkt.experts.append((layer.name, key, oget(v, "_ws.expert.message", ""), sev))
                continue
            if k == "_ws.malformed":
                pkt.malformed = True
                ws_walk(pkt, layer, v)
                continue
            if k in WS_PROTOS:
                sub = WsLayer(k)
                pkt.layers.append(sub)
                ws_walk(pkt, sub, v)
                continue
            ws_walk(pkt, layer, v)
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, Obj):
                    ws_walk(pkt, layer, item)
                else:
                    layer.add(k, item)
        else:
            if k == "_ws.malformed":
                pkt.malformed = True
            layer.add(k, v)


def ws_packets(doc):
    out = []
    for frame in doc:
        layers = oget(oget(frame, "_source"), "layers")
        pkt = WsPacket()
        for k, v in layers:
            if k == "frame" or k in WS_LINK_PSEUDO:
                continue
            if k == "_ws.malformed":
                pkt.malformed = True
                if isinstance(v, Obj):
                    ws_walk(pkt, WsLayer("_ws.malformed"), v)
                continue
            lay = WsLayer(k)
            pkt.layers.append(lay)
            if isinstance(v, Obj):
                ws_walk(pkt, lay, v)
            else:
                lay.add(k, v)
        merged = []
        for lay in pkt.layers:
            if merged and lay.name in WS_MERGED and merged[-1].name == WS_MERGED[lay.name][0]:
                for k in lay.order:
                    for v in lay.fields[k]:
                        merged[-1].add(k, v)
                continue
            merged.append(lay)
        pkt.layers = merged
        if pkt.malformed and not any(e[1] == "_ws.malformed.expert" for e in pkt.experts):
            pkt.experts.append(("_ws.malformed", "_ws.malformed", "Malformed Packet", SEV_ERROR))
        out.append(pkt)
    return out


# ---------------------------------------------------------------------------
# umpa's JSON


class ULayer:
    def __init__(self, obj):
        self.name = oget(obj, "_layer")
        self.marks = set()
        self.quoted = bool(oget(obj, "_quoted", False))
        self.items = []  # (key, value) flattened, in order
        for m in ("truncated", "invalid", "bad_checksum"):
            if oget(obj, "_" + m) is not None:
                self.marks.add(m)
        self.why = {m: oget(obj, "_" + m) for m in self.marks}
        # a TCP/UDP checksum holding the partial sum of checksum offload: umpa
        # leaves it unverified; tshark (checks on) must call it bad
        self.unverified = oget(obj, "_checksum_unverified") is not None
        self._flatten(obj, True)

    def _flatten(self, obj, top=False):
        keys = [k for k, _ in obj]
        for k, v in obj:
            if top and k.startswith("_"):
                continue  # _layer, _offset, _hlen and the marks
            if k.endswith("_name") and k[:-5] in keys:
                continue  # the value's name (or names), beside the value
            if isinstance(v, Obj):
                self._flatten(v)
                continue
            if isinstance(v, list):  # a repeated key: its values, or its groups, in order
                for x in v:
                    if isinstance(x, Obj):
                        self._flatten(x)
                    else:
                        self.items.append((k, x))
                continue
            self.items.append((k, v))

    def get(self, key):
        return [v for k, v in self.items if k == key]


def umpa_packets(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        obj = loads(line)
        out.append([ULayer(l) for l in oget(obj, "layers", [])])
    return out


# ---------------------------------------------------------------------------
# Scapy: Wireshark name -> Scapy attribute, per layer class (isinstance, so
# IPerror/UDPerror/TCPerror/ICMPerror are covered by their parents).  Values
# are converted to tshark's units.


def fv(l, name):
    """Field @name of a dissected Scapy layer, AttributeError when the bytes
    did not reach it (Scapy would answer its default: a quoted header cut
    after 8 bytes has no TCP flags, not flags "S")."""
    if name not in l.fields:
        raise AttributeError(name)
    return l.fields[name]


def bit(name, mask):
    return lambda l: 1 if int(fv(l, name)) & mask else 0


def attr(name, conv=None):
    def get(l):
        v = fv(l, name)
        return conv(v) if conv else v
    return get


def dname(v):
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    if v.endswith(".") and v != ".":
        v = v[:-1]
    return v if v != "." else "<Root>"


def scapy_table(S):
    """The mapping table: [(class, ws name, getter)]."""
    T = []

    def add(cls, pairs):
        for ws, get in pairs:
            T.append((cls, ws, get if callable(get) else attr(get)))

    add(S.Ether, [("eth.dst", "dst"), ("eth.src", "src"), ("eth.type", "type")])
    from scapy.layers.vxlan import VXLAN
    add(VXLAN, [("vxlan.vni", "vni")])
    add(S.Dot1Q, [("vlan.priority", "prio"), ("vlan.dei", "dei"), ("vlan.id", "vlan"),
                  ("vlan.etype", "type")])
    # Scapy's Dot1AD is a Dot1Q subclass (skipped above): Wireshark's 802.1ad names
    add(S.Dot1AD, [("ieee8021ad.priority", "prio"), ("ieee8021ad.dei", "dei"), ("ieee8021ad.id", "vlan"),
                   ("ieee8021ah.etype", "type")])
    add(S.BOOTP, [("dhcp.type", "op"), ("dhcp.hw.type", "htype"), ("dhcp.hw.len", "hlen"), ("dhcp.hops", "hops"),
                  ("dhcp.id", "xid"), ("dhcp.secs", "secs"), ("dhcp.ip.client", "ciaddr"), ("dhcp.ip.your", "yiaddr"),
                  ("dhcp.ip.server", "siaddr"), ("dhcp.ip.relay", "giaddr")])
    from scapy.contrib.mpls import MPLS
    add(MPLS, [("mpls.label", "label"), ("mpls.exp", "cos"), ("mpls.bottom", "s"), ("mpls.ttl", "ttl")])
    add(S.GRE, [("gre.flags.checksum", "chksum_present"), ("gre.flags.routing", "routing_present"),
                ("gre.flags.key", "key_present"), ("gre.flags.sequence_number", "seqnum_present"),
                ("gre.flags.version", "version"), ("gre.proto", "proto")])
    from scapy.contrib.geneve import GENEVE
    add(GENEVE, [("geneve.version", "version"), ("geneve.flags.oam", "oam"), ("geneve.flags.critical", "critical"),
                 ("geneve.proto_type", "proto"), ("geneve.vni", "vni")])
    from scapy.layers.sctp import SCTP
    add(SCTP, [("sctp.srcport", "sport"), ("sctp.dstport", "dport"), ("sctp.verification_tag", "tag"),
               ("sctp.checksum", "chksum")])
    from scapy.layers.ntp import NTPHeader
    add(NTPHeader, [("ntp.flags.li", "leap"), ("ntp.flags.vn", "version"), ("ntp.flags.mode", "mode"),
                    ("ntp.stratum", "stratum"), ("ntp.ppoll", "poll")])
    add(S.ARP, [("arp.hw.type", "hwtype"), ("arp.proto.type", "ptype"), ("arp.hw.size", "hwlen"),
                ("arp.proto.size", "plen"), ("arp.opcode", "op"), ("arp.src.hw_mac", "hwsrc"),
                ("arp.src.proto_ipv4", "psrc"), ("arp.dst.hw_mac", "hwdst"), ("arp.dst.proto_ipv4", "pdst")])
    add(S.IP, [("ip.version", "version"), ("ip.hdr_len", attr("ihl", lambda v: v * 4)),
               ("ip.dsfield", "tos"), ("ip.dsfield.dscp", attr("tos", lambda v: v >> 2)),
               ("ip.dsfield.ecn", attr("tos", lambda v: v & 3)), ("ip.len", "len"), ("ip.id", "id"),
               ("ip.flags", attr("flags", int)), ("ip.flags.rb", bit("flags", 4)),
               ("ip.flags.df", bit("flags", 2)), ("ip.flags.mf", bit("flags", 1)),
               ("ip.frag_offset", "frag"), ("ip.ttl", "ttl"), ("ip.proto", "proto"),
               ("ip.checksum", "chksum"), ("ip.src", "src"), ("ip.dst", "dst")])
    add(S.ICMP, [("icmp.type", "type"), ("icmp.code", "code"), ("icmp.checksum", "chksum")])
    add(S.UDP, [("udp.srcport", "sport"), ("udp.dstport", "dport"), ("udp.length", "len"),
                ("udp.checksum", "chksum")])
    add(S.TCP, [("tcp.srcport", "sport"), ("tcp.dstport", "dport"), ("tcp.seq", "seq"), ("tcp.ack", "ack"),
                ("tcp.hdr_len", attr("dataofs", lambda v: v * 4)),
                ("tcp.flags", lambda l: int(fv(l, "reserved")) << 9 | int(fv(l, "flags"))),  # 9 bits + reserved
                ("tcp.flags.res", attr("reserved", lambda v: 1 if v else 0)),
                ("tcp.flags.ae", bit("flags", 0x100)), ("tcp.flags.cwr", bit("flags", 0x80)),
                ("tcp.flags.ece", bit("flags", 0x40)), ("tcp.flags.urg", bit("flags", 0x20)),
                ("tcp.flags.ack", bit("flags", 0x10)), ("tcp.flags.push", bit("flags", 0x08)),
                ("tcp.flags.reset", bit("flags", 0x04)), ("tcp.flags.syn", bit("flags", 0x02)),
                ("tcp.flags.fin", bit("flags", 0x01)), ("tcp.window_size_value", "window"),
                ("tcp.checksum", "chksum"), ("tcp.urgent_pointer", "urgptr")])
    add(S.IPv6, [("ipv6.version", "version"), ("ipv6.tclass", "tc"), ("ipv6.flow", "fl"),
                 ("ipv6.plen", "plen"), ("ipv6.nxt", "nh"), ("ipv6.hlim", "hlim"),
                 ("ipv6.src", "src"), ("ipv6.dst", "dst")])
    add(S.IPv6ExtHdrHopByHop, [("ipv6.hopopts.nxt", "nh"), ("ipv6.hopopts.len", "len")])
    add(S.IPv6ExtHdrDestOpt, [("ipv6.dstopts.nxt", "nh"), ("ipv6.dstopts.len", "len")])
    add(S.IPv6ExtHdrRouting, [("ipv6.routing.nxt", "nh"), ("ipv6.routing.len", "len"),
                              ("ipv6.routing.type", "type"), ("ipv6.routing.segleft", "segleft")])
    add(S.IPv6ExtHdrFragment, [("ipv6.fraghdr.nxt", "nh"), ("ipv6.fraghdr.offset", "offset"),
                               ("ipv6.fraghdr.more", "m"), ("ipv6.fraghdr.ident", "id")])
    icmp6 = tuple(getattr(S, n) for n in (
        "ICMPv6EchoRequest", "ICMPv6EchoReply", "ICMPv6DestUnreach", "ICMPv6PacketTooBig",
        "ICMPv6TimeExceeded", "ICMPv6ParamProblem", "ICMPv6ND_RS", "ICMPv6ND_RA", "ICMPv6ND_NS",
        "ICMPv6ND_NA", "ICMPv6ND_Redirect", "ICMPv6Unknown"))
    add(icmp6, [("icmpv6.type", "type"), ("icmpv6.code", "code"), ("icmpv6.checksum", "cksum")])
    add((S.ICMPv6EchoRequest, S.ICMPv6EchoReply), [("icmpv6.echo.identifier", "id"),
                                                    ("icmpv6.echo.sequence_number", "seq")])
    add(S.ICMPv6PacketTooBig, [("icmpv6.mtu", "mtu")])
    add(S.ICMPv6ParamProblem, [("icmpv6.pointer", "ptr")])
    add(S.ICMPv6ND_NS, [("icmpv6.nd.ns.target_address", "tgt")])
    add(S.ICMPv6ND_NA, [("icmpv6.nd.na.flag.r", "R"), ("icmpv6.nd.na.flag.s", "S"),
                        ("icmpv6.nd.na.flag.o", "O"), ("icmpv6.nd.na.target_address", "tgt")])
    add(S.ICMPv6ND_RA, [("icmpv6.nd.ra.cur_hop_limit", "chlim"), ("icmpv6.nd.ra.flag.m", "M"),
                        ("icmpv6.nd.ra.flag.o", "O"), ("icmpv6.nd.ra.router_lifetime", "routerlifetime"),
                        ("icmpv6.nd.ra.reachable_time", "reachabletime"),
                        ("icmpv6.nd.ra.retrans_timer", "retranstimer")])
    ndopt = tuple(getattr(S, n) for n in ("ICMPv6NDOptSrcLLAddr", "ICMPv6NDOptDstLLAddr", "ICMPv6NDOptMTU",
                                          "ICMPv6NDOptPrefixInfo"))
    add(ndopt, [("icmpv6.opt.type", "type"), ("icmpv6.opt.length", "len")])
    add((S.ICMPv6NDOptSrcLLAddr, S.ICMPv6NDOptDstLLAddr), [("icmpv6.opt.linkaddr", "lladdr")])
    add(S.ICMPv6NDOptMTU, [("icmpv6.opt.mtu", "mtu")])
    add(S.ICMPv6NDOptPrefixInfo, [("icmpv6.opt.prefix.length", "prefixlen"),
                                  ("icmpv6.opt.prefix.flag.l", "L"), ("icmpv6.opt.prefix.flag.a", "A"),
                                  ("icmpv6.opt.prefix.valid_lifetime", "validlifetime"),
                                  ("icmpv6.opt.prefix.preferred_lifetime", "preferredlifetime"),
                                  ("icmpv6.opt.prefix", "prefix")])
    add(S.DNS, [("dns.id", "id"), ("dns.flags.response", "qr"), ("dns.flags.opcode", "opcode"),
                ("dns.flags.authoritative", "aa"), ("dns.flags.truncated", "tc"),
                ("dns.flags.recdesired", "rd"), ("dns.flags.recavail", "ra"), ("dns.flags.z", "z"),
                ("dns.flags.authenticated", "ad"), ("dns.flags.checkdisable", "cd"),
                ("dns.flags.rcode", "rcode"), ("dns.count.queries", "qdcount"),
                ("dns.count.answers", "ancount"), ("dns.count.auth_rr", "nscount"),
                ("dns.count.add_rr", "arcount")])
    return T


def scapy_icmp_extra(S, l):
    """ICMPv4 fields that exist only for some types (Scapy ConditionalFields)."""
    out = []
    t = l.type
    if t in (0, 8, 13, 14, 15, 16, 17, 18):
        out += [("icmp.ident", l.id), ("icmp.seq", l.seq)]
    if t == 5:
        out.append(("icmp.redir_gw", l.gw))
    if t == 3 and l.code == 4:
        out.append(("icmp.mtu", l.nexthopmtu))
    return out


TCP_OPT_KIND = {"EOL": 0, "NOP": 1, "MSS": 2, "WScale": 3, "SAckOK": 4, "SAck": 5, "Timestamp": 8}


def scapy_tcp_opts(S, l):
    out = []
    for name, val in l.options:
        if name == "MSS":
            out.append(("tcp.options.mss_val", val))
        elif name == "WScale":
            out.append(("tcp.options.wscale.shift", val))
        elif name == "Timestamp":
            out += [("tcp.options.timestamp.tsval", val[0]), ("tcp.options.timestamp.tsecr", val[1])]
        elif name == "SAck":
            for i in range(0, len(val) - 1, 2):
                out += [("tcp.options.sack_le", val[i]), ("tcp.options.sack_re", val[i + 1])]
    return out


DNS_RDATA_KEY = {1: "dns.a", 28: "dns.aaaa", 5: "dns.cname", 2: "dns.ns", 12: "dns.ptr.domain_name"}


def scapy_dns_records(S, l):
    out = []

    def chain(x):
        if x is None:
            return []
        if isinstance(x, list):
            return x
        res = []
        while x is not None and not isinstance(x, (S.NoPayload, S.Padding, S.Raw)):
            res.append(x)
            x = x.payload
        return res

    for q in chain(l.qd):
        out += [("dns.qry.name", dname(q.qname)), ("dns.qry.type", q.qtype), ("dns.qry.class", q.qclass)]
    for sect in (l.an, l.ns, l.ar):
        for r in chain(sect):
            if getattr(r, "type", None) == 41:
                continue  # OPT pseudo-records: Wireshark names differ (dns.rr.udp_payload_size ...)
            out += [("dns.resp.name", dname(r.rrname)), ("dns.resp.type", r.type)]
            if hasattr(r, "rclass"):
                out += [("dns.resp.class", r.rclass), ("dns.resp.ttl", r.ttl), ("dns.resp.len", r.rdlen)]
            if r.type in DNS_RDATA_KEY and isinstance(r, S.DNSRR):
                v = r.rdata
                out.append((DNS_RDATA_KEY[r.type], dname(v) if r.type in (2, 5, 12) else v))
            elif r.type == 15 and hasattr(r, "exchange"):
                out += [("dns.mx.preference", r.preference), ("dns.mx.mail_exchange", dname(r.exchange))]
            elif r.type == 16 and isinstance(r, S.DNSRR):
                for t in (r.rdata if isinstance(r.rdata, list) else [r.rdata]):
                    out.append(("dns.txt", t.decode("latin-1") if isinstance(t, bytes) else t))
    return out


def scapy_packets(path):
    import scapy.all as S
    from scapy.utils import rdpcap

    S.conf.verb = 0
    table = scapy_table(S)
    res = []
    for p in rdpcap(path):
        vals = {}
        l = p
        while l is not None and not isinstance(l, S.NoPayload):
            pairs = []
            for cls, ws, get in table:
                if isinstance(l, cls) and not (cls is S.Dot1Q and isinstance(l, S.Dot1AD)):
                    try:
                        v = get(l)
                    except (AttributeError, TypeError):
                        v = None  # not in the bytes: keep the place, compare nothing
                    pairs.append((ws, v))
            if isinstance(l, S.ICMP):
                pairs += scapy_icmp_extra(S, l)
            if isinstance(l, S.TCP):
                pairs += scapy_tcp_opts(S, l)
            if isinstance(l, S.DNS):
                pairs += scapy_dns_records(S, l)
            for k, v in pairs:
                vals.setdefault(k, []).append(norm(v))  # None: Scapy does not know it
            l = l.payload
        res.append(vals)
    return res


# ---------------------------------------------------------------------------
# cases.lua metadata: a tiny Lua tokenizer, enough to split `case{...}` tables.

META_KEYS = ("layers", "malformed", "uflags", "expect", "skip", "count")


def lua_strip_comments(text):
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("--[[", i):
            j = text.find("]]", i)
            i = n if j < 0 else j + 2
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def lua_split(body, sep=","):
    """Split @body at top-level @sep (outside strings and brackets)."""
    parts, depth, cur, i, n = [], 0, [], 0, len(body)
    while i < n:
        c = body[i]
        if c in "\"'":
            j = i + 1
            while j < n and body[j] != c:
                j += 2 if body[j] == "\\" else 1
            cur.append(body[i:j + 1])
            i = j + 1
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def lua_unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        body = s[1:-1]
        return re.sub(r"\\(x[0-9a-fA-F]{2}|[0-9]{1,3}|.)", lambda m: (
            chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x" else
            chr(int(m.group(1))) if m.group(1).isdigit() else
            {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(m.group(1), m.group(1))), body)
    return None


def lua_value(s, env=None):
    """A plain literal's value (int or str), or None for anything else.
    @env maps names of `local` constants to their values."""
    s = s.strip()
    if env and s in env:
        return env[s]
    q = lua_unquote(s)
    if q is not None:
        return q
    if re.match(r"^0[xX][0-9a-fA-F]+$", s):
        return int(s, 16)
    if re.match(r"^[0-9]+$", s):
        return int(s)
    if s in ("true", "false"):
        return 1 if s == "true" else 0
    return None


def parse_expr_layers(expr, env=None):
    """[(constructor, {field: literal})] of a stack expression, or None if not plain."""
    out = []
    for item in lua_split(expr, "/"):
        m = re.match(r"^([A-Za-z_][A-Za-z_0-9]*)\s*(\{.*\})$", item, re.S)
        if m:
            fields = {}
            for f in lua_split(m.group(2)[1:-1]):
                fm = re.match(r'^(?:([A-Za-z_][A-Za-z_0-9]*)|\[\s*"([^"]*)"\s*\])\s*=\s*(.*)$', f, re.S)
                if not fm:
                    return None
                val = lua_value(fm.group(3), env)
                if val is not None:
                    fields[fm.group(1) or fm.group(2)] = val
            out.append((m.group(1), fields))
        elif lua_unquote(item) is not None:
            out.append(("raw", {}))
        else:
            return None
    return out


ADDR_RE = re.compile(r"^(\d+\.\d+\.\d+\.\d+|[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}|[0-9a-fA-F:]*::?[0-9a-fA-F:.]*)$")


class Case:
    def __init__(self, num, desc, expr, meta, env=None):
        self.num = num
        self.desc = desc
        self.expr = expr
        self.meta = meta
        self.layers = meta.get("layers")
        self.malformed = [m.strip() for m in meta.get("malformed", "").split(",") if m.strip()]
        self.uflags = set(m.strip() for m in meta.get("uflags", "").split(",") if m.strip())
        self.skip = set(m.strip() for m in meta.get("skip", "").split(",") if m.strip())
        self.expect = []
        for item in lua_split(meta.get("expect", "")):
            if "=" in item:
                k, v = item.split("=", 1)
                self.expect.append((k.strip(), v.strip()))
        self.count = int(meta.get("count", 1))
        self.stack = parse_expr_layers(expr, env) if expr else None


def parse_cases(path):
    text = lua_strip_comments(open(path, encoding="utf-8").read())
    cases = []
    env = {}  # top-level `local NAME, ... = "literal", ...` constants
    for m in re.finditer(r"(?m)^local\s+([A-Za-z_][A-Za-z_0-9]*(?:\s*,\s*[A-Za-z_][A-Za-z_0-9]*)*)\s*=\s*(.*)$", text):
        names = [n.strip() for n in m.group(1).split(",")]
        vals = lua_split(m.group(2))
        for n, v in zip(names, vals):
            lv = lua_value(v)
            if lv is not None:
                env[n] = lv
    for m in re.finditer(r"(?m)^\s*case\s*\{", text):
        # find the matching close brace
        i, depth, n = m.end() - 1, 0, len(text)
        j = i
        while j < n:
            c = text[j]
            if c in "\"'":
                k = j + 1
                while k < n and text[k] != c:
                    k += 2 if text[k] == "\\" else 1
                j = k + 1
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        body = text[i + 1:j]
        pos, meta = [], {}
        for part in lua_split(body):
            mm = re.match(r"^([A-Za-z_]+)\s*=\s*(.*)$", part, re.S)
            if mm and mm.group(1) in META_KEYS:
                v = lua_value(mm.group(2))
                meta[mm.group(1)] = "" if v is None else str(v)
            else:
                pos.append(part)
        desc = lua_unquote(pos[0]) if pos else None
        expr = pos[1] if len(pos) > 1 else None
        cases.append(Case(len(cases) + 1, desc or "?", expr, meta, env))
    return cases


# ---------------------------------------------------------------------------
# Comparing


def show(v):
    if isinstance(v, int):
        return str(v)
    return repr(v) if v is not None else "(absent)"


def align(ulayers, wpkt, errs, malformed=False):
    """Pair each umpa layer with a tshark layer (or None)."""
    pairs, j, last_v6 = [], 0, None
    used = set()
    for ul in ulayers:
        if ul.name in IPV6_EXT:
            pairs.append((ul, last_v6))
            continue
        if ul.name == "tls" and pairs and pairs[-1][0].name == "tls":
            # umpa: one layer per TLS record; tshark: one "tls" layer holding every record
            pairs.append((ul, pairs[-1][1]))
            continue
        want = UMPA_TO_WS_LAYER.get(ul.name, ul.name)
        k = j
        while k < len(wpkt.layers) and wpkt.layers[k].name != want and (
                ul.name, wpkt.layers[k].name) not in WS_LAYER_ALIASES:
            k += 1
        if k == len(wpkt.layers):
            errs.append("layer %s: tshark has no %s layer here (tshark: %s)" % (
                ul.name, want, "/".join(l.name for l in wpkt.layers)))
            pairs.append((ul, None))
            continue
        for s in range(j, k):
            if s not in used:
                errs.append("layer %s: tshark has it, umpa does not (umpa: %s)" % (
                    wpkt.layers[s].name, "/".join(l.name for l in ulayers)))
                used.add(s)
        used.add(k)
        pairs.append((ul, wpkt.layers[k]))
        if want == "ipv6":
            last_v6 = wpkt.layers[k]
        j = k + 1
    for s in range(j, len(wpkt.layers)):
        if malformed and s == len(wpkt.layers) - 1 and wpkt.layers[s].name == "data":
            continue  # umpa stops at a layer broken on purpose; tshark shows the rest as data
        if s not in used:
            errs.append("layer %s: tshark has it, umpa does not (umpa: %s)" % (
                wpkt.layers[s].name, "/".join(l.name for l in ulayers)))
    return pairs


def ws_view(ul, wl):
    """umpa's items of layer @ul under the names tshark uses for them in @wl."""
    items = ul.items
    names = WS_LAYER_ALIASES.get((ul.name, wl.name))
    if names:
        items = [(names.get(k, k), v) for k, v in items if names.get(k, k)]
    src_rt = [i for i, (k, _) in enumerate(items) if k == "ip.src_rt"]
    if ul.name == "ip" and src_rt:
        # packet-ip.c, source route in progress: the header's destination is
        # shown as ip.cur_rt and the route's last address as ip.dst.
        items = list(items)
        items = [("ip.cur_rt", v) if k == "ip.dst" else (k, v) for k, v in items]
        items[src_rt[-1]] = ("ip.dst", items[src_rt[-1]][1])
    return items


def compare_tshark(case, ulayers, wpkt, wsnames, errs, st):
    for ul, wl in align(ulayers, wpkt, errs, bool(case.malformed)):
        if wl is None:
            continue
        for k, v in ws_view(ul, wl):
            if k in case.skip:
                continue
            uv = norm(v)
            if k in UMPA_TO_WS and isinstance(uv, int):
                uv = UMPA_TO_WS[k](uv)
            idx = wl.cursor.get(k, 0)
            wl.cursor[k] = idx + 1
            wvals = wl.fields.get(k)
            if wvals is None and ul.quoted and k in WS_NOT_IN_QUOTED:
                continue
            if wvals is None and case.malformed and k in wsnames:
                continue  # tshark stops dissecting at what the case broke on purpose
            if wvals is None and k in WS_SHOWN_ONLY_IF:
                ck, cv = WS_SHOWN_ONLY_IF[k]
                if [norm(x) for x in ul.get(ck)][:1] != [cv]:
                    continue
            if wvals is None:
                if k not in wsnames:
                    errs.append("%s: not a Wireshark field name (umpa %s)" % (k, show(uv)))
                else:
                    errs.append("%s: umpa %s, tshark (absent in %s)" % (k, show(uv), wl.name))
                continue
            if idx >= len(wvals):
                errs.append("%s[%d]: umpa %s, tshark has only %d" % (k, idx, show(uv), len(wvals)))
                continue
            tv = norm(wvals[idx])
            st["tshark"] += 1
            if uv != tv:
                errs.append("%s: umpa %s, tshark %s" % (k, show(uv), show(tv)))
        # checksum verdicts must agree
        if ul.name in CHECKSUMMED and not ul.quoted:
            status = wl.fields.get(ul.name + ".checksum.status")
            if status:
                ws_bad = str(status[0]) in ("0", "4")  # PROTO_CHECKSUM_E_BAD, _E_ILLEGAL
                if ul.unverified:
                    if not ws_bad:
                        errs.append("%s checksum: umpa says unverified (a partial offload sum), tshark says good"
                                    % ul.name)
                elif ws_bad != ("bad_checksum" in ul.marks):
                    errs.append("%s checksum: umpa says %s, tshark says %s" % (
                        ul.name, "bad" if "bad_checksum" in ul.marks else "good", "bad" if ws_bad else "good"))


def compare_experts(case, wpkt, errs):
    hits = {p: 0 for p in case.malformed}
    for layer, key, msg, sev in wpkt.experts:
        what = "%s %s" % (key, msg)
        matched = [p for p in case.malformed if p in what]
        for p in matched:
            hits[p] += 1
        if sev >= SEV_WARN and not matched and key not in WS_BENIGN_EXPERTS:
            errs.append("tshark %s in %s: %s (%s)" % (SEV_NAME.get(sev, sev), layer, msg, key))
    for p, n in hits.items():
        if n == 0:
            errs.append("intended malformation '%s' not seen by tshark (its complaints: %s)" % (
                p, "; ".join("%s %s" % (k, m) for _, k, m, _ in wpkt.experts) or "none"))


def compare_scapy(case, ulayers, svals, errs, st):
    uvals = {}
    for ul in ulayers:
        for k, v in ul.items:
            uv = norm(v)
            if k in UMPA_TO_WS and isinstance(uv, int):
                uv = UMPA_TO_WS[k](uv)
            uvals.setdefault(k, []).append(uv)
    for k, sl in svals.items():
        if k in case.skip:
            continue
        ul = uvals.get(k, [])
        for i, sv in enumerate(sl):
            if sv is None:
                continue
            if i >= len(ul):
                errs.append("%s%s: scapy %s, umpa (absent)" % (k, "[%d]" % i if i else "", show(sv)))
                break
            st["scapy"] += 1
            if ul[i] != sv:
                errs.append("%s: umpa %s, scapy %s" % (k, show(ul[i]), show(sv)))


# Scapy-style aliases the cases use -> the Wireshark names umpa shows them
# under (several: the first one present), for checking built values.
BUILD_ALIASES = {
    "ip": {"ihl": ["ip.hdr_len"], "tos": ["ip.dsfield"], "frag": ["ip.frag_offset"], "chksum": ["ip.checksum"]},
    "vlan": {"prio": ["vlan.priority"], "vlan": ["vlan.id"], "type": ["vlan.etype"]},
    "arp": {"hwtype": ["arp.hw.type"], "ptype": ["arp.proto.type"], "hwlen": ["arp.hw.size"],
            "plen": ["arp.proto.size"], "op": ["arp.opcode"], "hwsrc": ["arp.src.hw_mac", "arp.src.hw"],
            "psrc": ["arp.src.proto_ipv4"], "hwdst": ["arp.dst.hw_mac", "arp.dst.hw"], "pdst": ["arp.dst.proto_ipv4"]},
    "icmp": {"id": ["icmp.ident"], "chksum": ["icmp.checksum"], "gw": ["icmp.redir_gw"], "ptr": ["icmp.pointer"],
             "ts_ori": ["icmp.originate_timestamp"], "ts_rx": ["icmp.receive_timestamp"],
             "ts_tx": ["icmp.transmit_timestamp"], "addr_mask": ["icmp.address_mask"]},
    "ipv6": {"tc": ["ipv6.tclass"], "fl": ["ipv6.flow"], "nh": ["ipv6.nxt"]},
    "icmpv6": {"id": ["icmpv6.echo.identifier"], "seq": ["icmpv6.echo.sequence_number"],
               "chksum": ["icmpv6.checksum"], "ptr": ["icmpv6.pointer"], "chlim": ["icmpv6.nd.ra.cur_hop_limit"],
               "managed": ["icmpv6.nd.ra.flag.m"], "other": ["icmpv6.nd.ra.flag.o"],
               "routerlifetime": ["icmpv6.nd.ra.router_lifetime"], "reachabletime": ["icmpv6.nd.ra.reachable_time"],
               "retranstimer": ["icmpv6.nd.ra.retrans_timer"], "router": ["icmpv6.nd.na.flag.r"],
               "solicited": ["icmpv6.nd.na.flag.s"], "override": ["icmpv6.nd.na.flag.o"],
               "tgt": ["icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address", "icmpv6.nd.rd.target_address"],
               "dst": ["icmpv6.rd.na.destination_address"], "mrd": ["icmpv6.mld.maximum_response_delay"],
               "mladdr": ["icmpv6.mld.multicast_address"]},
    "ipv6_frag": {"more": ["ipv6.fraghdr.more"], "ident": ["ipv6.fraghdr.ident"], "offset": ["ipv6.fraghdr.offset"],
                  "nxt": ["ipv6.fraghdr.nxt"]},
    "udp": {"sport": ["udp.srcport"], "dport": ["udp.dstport"], "len": ["udp.length"], "chksum": ["udp.checksum"]},
    "tcp": {"sport": ["tcp.srcport"], "dport": ["tcp.dstport"], "dataofs": ["tcp.hdr_len"],
            "window": ["tcp.window_size_value"], "chksum": ["tcp.checksum"], "urgptr": ["tcp.urgent_pointer"],
            "reserved": ["tcp.flags.res"]},
    "dns": {"id": ["dns.id"], "qr": ["dns.flags.response"], "opcode": ["dns.flags.opcode"],
            "aa": ["dns.flags.authoritative"], "tc": ["dns.flags.truncated"], "rd": ["dns.flags.recdesired"],
            "ra": ["dns.flags.recavail"], "z": ["dns.flags.z"], "ad": ["dns.flags.authenticated"],
            "cd": ["dns.flags.checkdisable"], "rcode": ["dns.flags.rcode"], "qdcount": ["dns.count.queries"],
            "ancount": ["dns.count.answers"], "nscount": ["dns.count.auth_rr"], "arcount": ["dns.count.add_rr"]},
}


# Scapy aliases that count in other units than the Wireshark field they set:
# ip.hdr_len and tcp.hdr_len are bytes (as tshark's), ihl and dataofs words.
BUILD_UNITS = {("ip", "ihl"): 4, ("tcp", "dataofs"): 4}


def built_key(ul, f):
    """The Wireshark name under which umpa shows field @f set in layer @ul."""
    keys = [k for k, _ in ul.items]
    for k in BUILD_ALIASES.get(ul.name, {}).get(f, []):
        if k in keys:
            return k
    cand = sorted(set(k for k in keys if k.endswith("." + f)))
    return cand[0] if len(cand) == 1 else None


def compare_roundtrip(case, ulayers, errs, st):
    got = "/".join(l.name for l in ulayers)
    if case.layers is not None and got != case.layers:
        errs.append("layers: umpa show %s, case built %s" % (got, case.layers))
    marks = set("%s:%s" % (l.name, m) for l in ulayers for m in l.marks)
    if marks != case.uflags:
        why = "; ".join("%s:%s=%s" % (l.name, m, l.why[m]) for l in ulayers for m in l.marks)
        errs.append("umpa marks: %s, case expects %s%s" % (
            ",".join(sorted(marks)) or "none", ",".join(sorted(case.uflags)) or "none",
            " (%s)" % why if why else ""))
    # fields the expression set with literals
    if case.stack and case.layers is not None and got == case.layers and len(case.stack) == len(ulayers):
        for (ctor, fields), ul in zip(case.stack, ulayers):
            for f, want in fields.items():
                key = built_key(ul, f)
                if key in case.skip:
                    continue
                if key is None or (isinstance(want, str) and not ADDR_RE.match(want)):
                    continue  # an unknown alias, an ambiguous name, or a value given by name
                got_v = norm(ul.get(key)[0])
                st["roundtrip"] += 1
                want_n = norm(want)
                if isinstance(want_n, int) and (ul.name, f) in BUILD_UNITS:
                    want_n *= BUILD_UNITS[(ul.name, f)]
                if isinstance(want_n, str) and ":" in want_n and "." not in want_n:
                    try:  # an IPv6 address: compare canonical forms
                        want_n = str(ipaddress.ip_address(want_n))
                    except ValueError:
                        pass
                if got_v != want_n:
                    errs.append("roundtrip %s: built %s, umpa show %s" % (key, show(want_n), show(got_v)))
    for k, v in case.expect:
        vals = [x for l in ulayers for kk, x in l.items if kk == k]
        want = norm(lua_unquote(v) if lua_unquote(v) is not None else v)
        st["roundtrip"] += 1
        if not vals:
            errs.append("expect %s: umpa show has no such field" % k)
        elif norm(vals[0]) != want:
            errs.append("expect %s: wanted %s, umpa show %s" % (k, show(want), show(norm(vals[0]))))


# ---------------------------------------------------------------------------


TSHARK_PREFS = [
    "tcp.relative_sequence_numbers:FALSE", "tcp.analyze_sequence_numbers:FALSE",
    "tcp.calculate_timestamps:FALSE", "tcp.desegment_tcp_streams:FALSE",
    "tcp.no_subdissector_on_error:FALSE", "udp.calculate_timestamps:FALSE",
    "ip.check_checksum:TRUE", "tcp.check_checksum:TRUE", "udp.check_checksum:TRUE",
    "ip.defragment:FALSE", "ipv6.defragment:FALSE",
    "dns.desegment_dns_messages:FALSE",
    "sctp.checksum:CRC-32C", "sctp.relative_tsns:FALSE",
]


def main():
    ap = argparse.ArgumentParser(description="umpa vs tshark vs Scapy")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--umpa", default=os.environ.get("UMPA", "umpa"))
    ap.add_argument("--cases", default=os.path.join(here, "cases.lua"))
    ap.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
    ap.add_argument("--keep", help="keep the pcap and the JSON outputs in this directory")
    ap.add_argument("--only", help="comma-separated case numbers to report")
    ap.add_argument("--pcapng", action="store_true", help="have umpa write pcapng rather than pcap")
    ap.add_argument("-v", "--verbose", action="store_true", help="every difference on its own line")
    a = ap.parse_args()

    t0 = time.time()
    if not shutil.which(a.tshark):
        print("SKIP: no tshark")
        return SKIP
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        print("SKIP: no scapy in %s" % sys.executable)
        return SKIP

    cases = parse_cases(a.cases)
    if not cases:
        print("FAIL: no cases in %s" % a.cases)
        return HARD
    work = a.keep or tempfile.mkdtemp(prefix="umpa-oracle-")
    os.makedirs(work, exist_ok=True)
    pcap = os.path.join(work, "oracle.pcap")
    try:
        r = subprocess.run([a.umpa, "build", "-f", a.cases, "-w", pcap, "--time", "1700000000",
                            "--interval", "0.001"] + (["--pcapng"] if a.pcapng else []), capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            print("FAIL: umpa build -f %s: exit %d\n%s" % (a.cases, r.returncode, r.stderr.strip()))
            return HARD
        # three dissections at once
        fields = subprocess.Popen([a.tshark, "-G", "fields"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        targs = [a.tshark, "-n", "-r", pcap, "-T", "json"]
        for p in TSHARK_PREFS:
            targs += ["-o", p]
        ts = subprocess.Popen(targs, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        us = subprocess.Popen([a.umpa, "show", "--json", pcap], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        svals = scapy_packets(pcap)
        uout, uerr = us.communicate(timeout=60)
        tout, terr = ts.communicate(timeout=60)
        fout, _ = fields.communicate(timeout=60)
        if us.returncode != 0:
            print("FAIL: umpa show --json: exit %d\n%s" % (us.returncode, uerr.strip()))
            return HARD
        if ts.returncode != 0:
            print("FAIL: tshark: exit %d\n%s" % (ts.returncode, terr.strip()))
            return HARD
        wsnames = set()
        for line in fout.splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[0] in ("F", "P"):
                wsnames.add(parts[2])
        if a.keep:
            open(os.path.join(work, "umpa.json"), "w").write(uout)
            open(os.path.join(work, "tshark.json"), "w").write(tout)
        upk = umpa_packets(uout)
        wpk = ws_packets(loads(tout))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    total = sum(c.count for c in cases)
    if not (len(upk) == len(wpk) == len(svals) == total):
        print("FAIL: packet counts: cases %d, umpa show %d, tshark %d, scapy %d" % (
            total, len(upk), len(wpk), len(svals)))
        return 1

    only = set(int(x) for x in a.only.split(",")) if a.only else None
    nfail = nok = 0
    i = 0
    tot = {"tshark": 0, "scapy": 0, "roundtrip": 0}
    for c in cases:
        for rep in range(c.count):
            errs, st = [], {"tshark": 0, "scapy": 0, "roundtrip": 0}
            compare_roundtrip(c, upk[i], errs, st)
            compare_tshark(c, upk[i], wpk[i], wsnames, errs, st)
            compare_experts(c, wpk[i], errs)
            compare_scapy(c, upk[i], svals[i], errs, st)
            tot["tshark"] += st["tshark"]
            tot["scapy"] += st["scapy"]
            tot["roundtrip"] += st["roundtrip"]
            i += 1
            if only and c.num not in only:
                continue
            tag = "case %d%s (%s)" % (c.num, "" if c.count == 1 else ".%d" % (rep + 1), c.desc)
            if errs:
                nfail += 1
                if a.verbose:
                    print("FAIL %s" % tag)
                    for e in errs:
                        print("     %s" % e)
                else:
                    shown = errs[:6]
                    more = " (+%d more)" % (len(errs) - 6) if len(errs) > 6 else ""
                    print("FAIL %s: %s%s" % (tag, "; ".join(shown), more))
            else:
                nok += 1
                print("ok   %s%s" % (tag, " [%d fields vs tshark, %d vs scapy, %d built values]" % (
                    st["tshark"], st["scapy"], st["roundtrip"]) if a.verbose else ""))
    print("oracle: %d packets, %d ok, %d failed; field values matched: %d against tshark, %d against Scapy, "
          "%d against the expressions (%.1f s)" % (nok + nfail, nok, nfail, tot["tshark"], tot["scapy"],
                                                   tot["roundtrip"], time.time() - t0))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
