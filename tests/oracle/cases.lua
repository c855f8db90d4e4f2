-- cases.lua: the oracle's packets (tests/oracle/oracle.py).  Every case is
-- built by `umpa build -f cases.lua` into one pcap, then dissected by umpa,
-- tshark and Scapy, which must agree field by field; umpa must read back the
-- layers and the values the expression built.
--
--   case{"description", PACKET, layers="eth/ip/udp", ...}
--
-- PACKET is one packet expression (no lists: one packet per case, or say
-- count=N).  Metadata, read by oracle.py from this text:
--   layers    the layers `umpa show` must find in the built bytes
--   malformed comma-separated patterns: the case lies on purpose, and each
--             pattern must match one of tshark's complaints (an expert info's
--             key or message, "_ws.malformed" for a malformed packet); only
--             matching complaints are allowed.  Field values tshark shows must
--             still match (those it no longer shows are not compared).
--   uflags    umpa's marks the dissection must give, "layer:mark,..." with
--             mark bad_checksum / invalid / truncated (default: none)
--   expect    "ws.name=value,..." values `umpa show` must read back (the
--             first occurrence), besides the plain literals of the expression
--   skip      Wireshark names not compared in this case, against tshark,
--             Scapy or the expression (say why in a comment)
-- Keep `case{` at the start of a line: oracle.py finds cases by it.
-- Ports: 40000 and up, where neither tshark nor Scapy has a dissector or a
-- heuristic, unless the case is about the protocol of a well-known port.

local pkts = {}
local function case(t)
  pkts[#pkts + 1] = t[2]
end

-- set(stack, layer, field, value): build the stack, then write one field in
-- the built packet.  Used for ICMPv6 neighbour discovery options: the
-- constructor checks a VAR spec on a default layer (type echo-request),
-- where icmpv6 refuses options, so icmpv6{type=133, options=...} fails.
local function set(stack, layer, field, value)
  local p = packets(stack)[1]
  p[layer][field] = value
  return p
end

local A, B = "10.0.0.1", "10.0.0.2"
local A6, B6 = "2001:db8::1", "2001:db8::2"
local MA, MB = "02:00:00:00:00:01", "02:00:00:00:00:02"

---------------------------------------------------------------- Ethernet, 802.1Q
case{"eth ipv4 udp payload", ether{src=MA, dst=MB}/ip{src=A, dst=B}/udp{sport=40000, dport=40001}/"hello",
  layers="eth/ip/udp/raw"}
case{"eth broadcast default", ether{}/ip{}/udp{sport=40000, dport=40002}/"x", layers="eth/ip/udp/raw"}
case{"eth unknown type raw", ether{src=MA, dst=MB, type=0x88b5}/"\x01\x02\x03\x04 experimental",
  layers="eth/raw"}
case{"vlan pcp dei", ether{src=MA}/vlan{id=42, priority=5, dei=1}/ip{src=A, dst=B}/icmp{}, layers="eth/vlan/ip/icmp"}
case{"vlan id 0 priority tag", ether{}/vlan{id=0, priority=7}/ip{src=A, dst=B}/udp{sport=40000, dport=40003}/"p",
  layers="eth/vlan/ip/udp/raw"}
case{"vlan id 4095", ether{}/vlan{id=4095}/arp{psrc=A, pdst=B}, layers="eth/vlan/arp"}
case{"qinq", ether{}/vlan{id=100, priority=1}/vlan{id=200, priority=2}/ip{src=A, dst=B}/udp{sport=40000, dport=40004}/"q",
  layers="eth/vlan/vlan/ip/udp/raw"}
case{"vxlan eth ip icmp", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=4789}/vxlan{vni=42}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/udp/vxlan/eth/ip/icmp"}
case{"vxlan gbp vni max", ether{}/ipv6{src=A6, dst=B6}/udp{sport=40000, dport=4789}/vxlan{flags=0x8800, gbp=0x1234, vni=0xffffff}/ether{src=MA, dst=MB}/arp{psrc=A, pdst=B},
  layers="eth/ipv6/udp/vxlan/eth/arp"}
case{"vlan ipv6", ether{}/vlan{id=7}/ipv6{src=A6, dst=B6}/icmpv6{}, layers="eth/vlan/ipv6/icmpv6"}

case{"eth multicast", ether{src=MA, dst="01:00:5e:00:00:fb"}/ip{src=A, dst="224.0.0.251", ttl=255}/udp{sport=40000, dport=40030}/"mc",
  layers="eth/ip/udp/raw"}
case{"802.1ad outer tag", ether{}/ieee8021ad{id=100, priority=3}/vlan{id=200}/ip{src=A, dst=B}/udp{sport=40000, dport=40031}/"ad",
  layers="eth/ieee8021ad/vlan/ip/udp/raw", expect="eth.type=0x88a8,ieee8021ah.etype=0x8100"}
case{"802.1ad by its ethertype", ether{type=0x88a8}/vlan{id=100, priority=3}/vlan{id=200}/ip{src=A, dst=B}/udp{sport=40000, dport=40032}/"ad",
  layers="eth/ieee8021ad/vlan/ip/udp/raw", skip="vlan.priority,vlan.id,vlan.etype"}
case{"vlan arp", ether{src=MA}/vlan{id=10}/arp{op=1, hwsrc=MA, psrc=A, pdst=B}, layers="eth/vlan/arp"}

---------------------------------------------------------------- ARP
case{"arp who-has", ether{src=MA}/arp{op=1, hwsrc=MA, psrc=A, pdst=B}, layers="eth/arp"}
case{"arp is-at", ether{src=MB, dst=MA}/arp{op=2, hwsrc=MB, psrc=B, hwdst=MA, pdst=A}, layers="eth/arp"}
case{"arp gratuitous", ether{src=MA}/arp{op=1, hwsrc=MA, psrc=A, pdst=A}, layers="eth/arp"}
case{"arp op 3", ether{src=MA}/arp{op=3, hwsrc=MA, hwdst=MB}, layers="eth/arp"}

case{"arp probe", ether{src=MA}/arp{op=1, hwsrc=MA, psrc="0.0.0.0", pdst=A}, layers="eth/arp"}
case{"arp reply broadcast", ether{src=MB}/arp{op="is-at", hwsrc=MB, psrc=B, hwdst="ff:ff:ff:ff:ff:ff", pdst="255.255.255.255"},
  layers="eth/arp"}

case{"arp hardware type ieee802", ether{src=MA}/arp{hwtype=6, op=2, hwsrc=MA, psrc=A, hwdst=MB, pdst=B}, layers="eth/arp"}
case{"arp hardware size lies", ether{src=MA}/arp{hwlen=8, hwsrc=MA, psrc=A, pdst=B}, layers="eth/arp",
  malformed="_ws.malformed", uflags="arp:invalid", expect="arp.hw.size=8",
  -- Scapy reads the addresses with the lying sizes too, but names them differently
  skip="arp.src.hw_mac,arp.src.proto_ipv4,arp.dst.hw_mac,arp.dst.proto_ipv4,arp.src.hw,arp.dst.hw"}
case{"arp ipv6 protocol size lies", ether{src=MA}/arp{ptype=0x86dd, plen=16}, layers="eth/arp",
  malformed="_ws.malformed", uflags="arp:invalid", expect="arp.proto.size=16",
  skip="arp.src.hw_mac,arp.src.proto_ipv4,arp.dst.hw_mac,arp.dst.proto_ipv4"}

---------------------------------------------------------------- IPv4
case{"ip defaults icmp", ether{}/ip{}/icmp{}, layers="eth/ip/icmp"}
case{"ip ttl 0", ether{}/ip{src=A, dst=B, ttl=0}/udp{sport=40000, dport=40005}/"t0", layers="eth/ip/udp/raw"}
case{"ip ttl 255 id 0xffff", ether{}/ip{src=A, dst=B, ttl=255, id=0xffff}/icmp{}, layers="eth/ip/icmp"}
case{"ip id 0", ether{}/ip{src=A, dst=B, id=0}/icmp{}, layers="eth/ip/icmp"}
case{"ip tos EF", ether{}/ip{src=A, dst=B, tos=0xb8}/udp{sport=40000, dport=40006}/"ef", layers="eth/ip/udp/raw"}
case{"ip tos ecn CE", ether{}/ip{src=A, dst=B, tos=0x03}/udp{sport=40000, dport=40007}/"ce", layers="eth/ip/udp/raw"}
case{"ip df", ether{}/ip{src=A, dst=B, ["flags.df"]=1}/tcp{sport=40000, dport=80}, layers="eth/ip/tcp",
  expect="ip.flags.df=1,ip.flags.mf=0"}
case{"ip evil bit", ether{}/ip{src=A, dst=B, ["flags.rb"]=1}/icmp{}, layers="eth/ip/icmp", expect="ip.flags.rb=1"}
case{"ip mf first fragment", ether{}/ip{src=A, dst=B, ["flags.mf"]=1, id=77}/udp{sport=40000, dport=40008}/"first half",
  layers="eth/ip/udp/raw", expect="ip.flags.mf=1"}
case{"ip frag offset", ether{}/ip{src=A, dst=B, frag=185, id=77, proto=17}/"second half of a datagram",
  layers="eth/ip/raw", expect="ip.frag_offset=185"}
case{"ip df+mf+offset", ether{}/ip{src=A, dst=B, ["flags.df"]=1, ["flags.mf"]=1, frag=8191, proto=6}/"end",
  layers="eth/ip/raw"}
case{"ip unknown proto", ether{}/ip{src=A, dst=B, proto=253}/"\xde\xad\xbe\xef", layers="eth/ip/raw"}
case{"ip in ip", ether{}/ip{src=A, dst=B}/ip{src="192.168.1.1", dst="192.168.1.2"}/udp{sport=40000, dport=40009}/"ipip",
  layers="eth/ip/ip/udp/raw"}
case{"ipv6 in ip", ether{}/ip{src=A, dst=B}/ipv6{src=A6, dst=B6}/udp{sport=40000, dport=40010}/"6in4",
  layers="eth/ip/ipv6/udp/raw"}
case{"ip options nop eol", ether{}/ip{src=A, dst=B, options="nop,nop,nop,eol"}/icmp{}, layers="eth/ip/icmp"}
case{"ip option record route", ether{}/ip{src=A, dst=B, options="rr=192.0.2.1:0.0.0.0:0.0.0.0"}/icmp{},
  layers="eth/ip/icmp"}
case{"ip option router alert", ether{}/ip{src=A, dst="224.0.0.22", ttl=1, proto=253, options="ra"}/"\x22\x00\xf9\x02\x00\x00\x00\x00",
  layers="eth/ip/raw"}
case{"ip option timestamp", ether{}/ip{src=A, dst=B, options="ts=1:2"}/icmp{}, layers="eth/ip/icmp"}
case{"ip option lsrr", ether{}/ip{src=A, dst=B, options="lsrr=192.0.2.1:192.0.2.2"}/udp{sport=40000, dport=40011}/"sr",
  layers="eth/ip/udp/raw"}
case{"ip bad checksum", ether{}/ip{src=A, dst=B, chksum=0x1234}/icmp{}, layers="eth/ip/icmp",
  malformed="ip.checksum_bad", uflags="ip:bad_checksum", expect="ip.checksum=0x1234"}
case{"ip total length too long", ether{}/ip{src=A, dst=B, len=200}/udp{sport=40000, dport=40012}/"short",
  layers="eth/ip/udp/raw", malformed="ip.bogus_ip_length", uflags="ip:invalid", expect="ip.len=200"}
case{"ip total length too short", ether{}/ip{src=A, dst=B, len=28}/udp{sport=40000, dport=40013}/"cut by ip.len",
  layers="eth/ip/udp", malformed="udp.length.bad,_ws.malformed", uflags="udp:invalid", expect="ip.len=28"}
case{"ip ihl too small", ether{}/ip{src=A, dst=B, ihl=4}/udp{sport=40000, dport=40014}/"ihl",
  layers="eth/ip", malformed="ip.bogus_header_length", uflags="ip:invalid", expect="ip.hdr_len=16"}

case{"ip broadcast", ether{}/ip{src="0.0.0.0", dst="255.255.255.255"}/udp{sport=40000, dport=40032}/"bc",
  layers="eth/ip/udp/raw"}
case{"ip tos 0xff", ether{}/ip{src=A, dst=B, tos=0xff}/icmp{}, layers="eth/ip/icmp"}
case{"ip total length 0 (TSO)", ether{}/ip{src=A, dst=B, len=0}/udp{sport=40000, dport=40033}/"tso", layers="eth/ip/udp/raw",
  expect="ip.len=0",
  -- tshark (ip.tso_support) shows the length of the frame's datagram instead of 0
  skip="ip.len"}
case{"ip options rr slots nop ra", ether{}/ip{src=A, dst=B, options="rr=3,nop,ra"}/udp{sport=40000, dport=40034}/"o",
  layers="eth/ip/udp/raw"}
case{"ip option timestamp with addresses", ether{}/ip{src=A, dst=B, options="ts=192.0.2.1:1000:192.0.2.2:2000"}/icmp{},
  layers="eth/ip/icmp"}
case{"ip option ssrr", ether{}/ip{src=A, dst=B, options="ssrr=192.0.2.1:192.0.2.2:192.0.2.3"}/tcp{sport=40000, dport=80},
  layers="eth/ip/tcp"}
case{"ip option route complete", ether{}/ip{src=A, dst=B, options="raw=830b0cc0000201c000020200"}/udp{sport=40000, dport=40035}/"done",
  layers="eth/ip/udp/raw"}
case{"ip option overruns header", ether{}/ip{src=A, dst=B, options="raw=0728000000000000"}/icmp{},
  layers="eth/ip/icmp", malformed="ip.opt.len", uflags="ip:invalid"}
case{"ip version 5", ether{}/ip{src=A, dst=B, version=5}/udp{sport=40000, dport=40036}/"v5",
  layers="eth/ip", malformed="ip.bogus_ip_version", uflags="ip:invalid", expect="ip.version=5",
  -- Scapy dissects any version as IPv4 and goes on into UDP
  skip="udp.srcport,udp.dstport,udp.length,udp.checksum"}

---------------------------------------------------------------- ICMPv4
case{"icmp echo request", ether{}/ip{src=A, dst=B}/icmp{type="echo-request", id=0x1234, seq=1}/"abcdefgh",
  layers="eth/ip/icmp/raw"}
case{"icmp echo reply", ether{}/ip{src=B, dst=A}/icmp{type="echo-reply", id=0x1234, seq=1}/"abcdefgh",
  layers="eth/ip/icmp/raw"}
case{"icmp echo max id seq", ether{}/ip{src=A, dst=B}/icmp{type=8, id=65535, seq=65535}, layers="eth/ip/icmp"}
case{"icmp port unreachable quoting udp",
  ether{}/ip{src=B, dst=A}/icmp{type="dest-unreach", code=3}/ip{src=A, dst=B}/udp{sport=40000, dport=33434}/"probe",
  layers="eth/ip/icmp/ip/udp/raw"}
case{"icmp unreachable quoting 8 bytes",
  ether{}/ip{src=B, dst=A}/icmp{type=3, code=1}/ip{src=A, dst=B, len=1500, proto=17}/"\x9c\x40\x82\x9b\x05\xc8\x00\x00",
  layers="eth/ip/icmp/ip/udp"}
case{"icmp frag needed mtu",
  ether{}/ip{src=B, dst=A}/icmp{type=3, code=4, mtu=1400}/ip{src=A, dst=B, ["flags.df"]=1}/tcp{sport=40000, dport=80, flags="A"},
  layers="eth/ip/icmp/ip/tcp"}
case{"icmp time exceeded quoting echo",
  ether{}/ip{src=B, dst=A}/icmp{type="time-exceeded", code=0}/ip{src=A, dst="192.0.2.9", ttl=1}/icmp{id=9, seq=3},
  layers="eth/ip/icmp/ip/icmp"}
case{"icmp redirect",
  ether{}/ip{src=B, dst=A}/icmp{type="redirect", code=1, gw="10.0.0.254"}/ip{src=A, dst="192.0.2.9"}/udp{sport=40000, dport=53},
  layers="eth/ip/icmp/ip/udp"}
case{"icmp bad checksum", ether{}/ip{src=A, dst=B}/icmp{chksum=0xdead}/"bad", layers="eth/ip/icmp/raw",
  malformed="icmp.checksum_bad", uflags="icmp:bad_checksum"}

case{"icmp net unreachable", ether{}/ip{src="192.0.2.254", dst=A}/icmp{type=3, code=0}/ip{src=A, dst="198.51.100.1"}/icmp{id=5, seq=5},
  layers="eth/ip/icmp/ip/icmp"}
case{"icmp admin prohibited quoting tcp", ether{}/ip{src="192.0.2.254", dst=A}/icmp{type=3, code=13}/ip{src=A, dst=B}/tcp{sport=40000, dport=22},
  layers="eth/ip/icmp/ip/tcp"}
case{"icmp unreachable quoting 8 bytes of tcp",
  ether{}/ip{src=B, dst=A}/icmp{type=3, code=3}/ip{src=A, dst=B, len=60, proto=6}/"\x9c\x40\x00\x50\x00\x00\x00\x01",
  layers="eth/ip/icmp/ip/tcp"}
case{"icmp reassembly time exceeded", ether{}/ip{src=B, dst=A}/icmp{type=11, code=1}/ip{src=A, dst=B, ["flags.mf"]=1}/udp{sport=40000, dport=40037},
  layers="eth/ip/icmp/ip/udp"}
case{"icmp source quench", ether{}/ip{src=B, dst=A}/icmp{type=4}/ip{src=A, dst=B}/udp{sport=40000, dport=40038},
  layers="eth/ip/icmp/ip/udp"}
case{"icmp parameter problem", ether{}/ip{src=B, dst=A}/icmp{type=12, ptr=20}/ip{src=A, dst=B, options="nop,nop,nop,eol"}/udp{sport=40000, dport=40039},
  layers="eth/ip/icmp/ip/udp"}
case{"icmp timestamp request", ether{}/ip{src=A, dst=B}/icmp{type=13, id=7, seq=1, ts_ori=1000, ts_rx=0, ts_tx=0},
  layers="eth/ip/icmp"}
case{"icmp timestamp reply", ether{}/ip{src=B, dst=A}/icmp{type=14, id=7, seq=1, ts_ori=1000, ts_rx=2000, ts_tx=2001},
  layers="eth/ip/icmp"}
case{"icmp address mask request", ether{}/ip{src=A, dst="255.255.255.255"}/icmp{type=17, id=3, seq=4}, layers="eth/ip/icmp"}
case{"icmp address mask reply", ether{}/ip{src=B, dst=A}/icmp{type=18, id=3, seq=4, addr_mask="255.255.255.0"}, layers="eth/ip/icmp"}
case{"icmp information request", ether{}/ip{src=A, dst=B}/icmp{type=15, id=2, seq=9}, layers="eth/ip/icmp"}
case{"icmp router solicitation", ether{}/ip{src=A, dst="224.0.0.2", ttl=1}/icmp{type=10}, layers="eth/ip/icmp"}
case{"icmp echo big payload", ether{}/ip{src=A, dst=B}/icmp{id=1, seq=100}/string.rep("0123456789abcdef", 64),
  layers="eth/ip/icmp/raw"}

---------------------------------------------------------------- IPv6 and extension headers
case{"ipv6 defaults", ether{}/ipv6{}/icmpv6{}, layers="eth/ipv6/icmpv6"}
case{"ipv6 tclass flow hlim", ether{}/ipv6{src=A6, dst=B6, tclass=0xb9, flow=0xabcde, hlim=1}/udp{sport=40000, dport=40015}/"tc",
  layers="eth/ipv6/udp/raw"}
case{"ipv6 hlim 255 link local", ether{}/ipv6{src="fe80::1", dst="fe80::2", hlim=255}/icmpv6{}, layers="eth/ipv6/icmpv6"}
case{"ipv6 hop-by-hop router alert", ether{}/ipv6{src="fe80::1", dst="ff02::16", hlim=1}/ipv6_hop{options="ra=0"}/icmpv6{},
  layers="eth/ipv6/ipv6_hop/icmpv6"}
case{"ipv6 hop-by-hop default padn", ether{}/ipv6{src=A6, dst=B6}/ipv6_hop{}/udp{sport=40000, dport=40016}/"hbh",
  layers="eth/ipv6/ipv6_hop/udp/raw"}
case{"ipv6 dst opts padn", ether{}/ipv6{src=A6, dst=B6}/ipv6_dst{options="padn=4"}/tcp{sport=40000, dport=80},
  layers="eth/ipv6/ipv6_dst/tcp"}
case{"ipv6 routing type 0", ether{}/ipv6{src=A6, dst=B6}/ipv6_route{addrs="2001:db8::10,2001:db8::11"}/udp{sport=40000, dport=40017}/"rt0",
  layers="eth/ipv6/ipv6_route/udp/raw"}
case{"ipv6 routing srh", ether{}/ipv6{src=A6, dst=B6}/ipv6_route{type=4, addrs="2001:db8::20,2001:db8::21,2001:db8::22"}/icmpv6{},
  layers="eth/ipv6/ipv6_route/icmpv6"}
case{"ipv6 fragment first", ether{}/ipv6{src=A6, dst=B6}/ipv6_frag{more=1, ident=0x12345678}/udp{sport=40000, dport=40018}/"f1",
  layers="eth/ipv6/ipv6_frag/udp/raw"}
case{"ipv6 fragment later", ether{}/ipv6{src=A6, dst=B6}/ipv6_frag{offset=100, ident=0x12345678, nxt=17}/"later fragment",
  layers="eth/ipv6/ipv6_frag/raw"}
case{"ipv6 extension chain",
  ether{}/ipv6{src=A6, dst=B6}/ipv6_hop{}/ipv6_dst{}/ipv6_route{addrs="2001:db8::30"}/ipv6_frag{ident=7}/ipv6_dst{options="padn=2"}/icmpv6{},
  layers="eth/ipv6/ipv6_hop/ipv6_dst/ipv6_route/ipv6_frag/ipv6_dst/icmpv6"}
case{"ipv6 no next header", ether{}/ipv6{src=A6, dst=B6, nxt=59}, layers="eth/ipv6"}
case{"ipv6 payload length too long", ether{}/ipv6{src=A6, dst=B6, plen=100}/udp{sport=40000, dport=40019}/"lie",
  layers="eth/ipv6/udp/raw", malformed="ipv6.plen", uflags="ipv6:invalid", expect="ipv6.plen=100"}

case{"ipv6 payload length too short", ether{}/ipv6{src=A6, dst=B6, plen=4}/udp{sport=40000, dport=40040}/"lie",
  layers="eth/ipv6/udp", malformed="_ws.malformed,eth.padding_bad", uflags="udp:invalid", expect="ipv6.plen=4"}
case{"ipv6 hop-by-hop unknown option", ether{}/ipv6{src=A6, dst=B6}/ipv6_hop{options="0x3e=0102"}/udp{sport=40000, dport=40042}/"u",
  layers="eth/ipv6/ipv6_hop/udp/raw"}
case{"ipv6 dst opts pad1", ether{}/ipv6{src=A6, dst=B6}/ipv6_dst{options="pad1,pad1,padn=2"}/udp{sport=40000, dport=40043}/"p",
  layers="eth/ipv6/ipv6_dst/udp/raw"}
case{"ipv6 routing type 2", ether{}/ipv6{src=A6, dst=B6}/ipv6_route{type=2, addrs="2001:db8::77"}/tcp{sport=40000, dport=80},
  layers="eth/ipv6/ipv6_route/tcp"}
case{"ipv6 routing done", ether{}/ipv6{src=A6, dst=B6}/ipv6_route{segleft=0, addrs="2001:db8::10"}/udp{sport=40000, dport=40044}/"d",
  layers="eth/ipv6/ipv6_route/udp/raw", expect="ipv6.routing.segleft=0"}
case{"ipv6 fragment offset and more", ether{}/ipv6{src=A6, dst=B6}/ipv6_frag{offset=8191, more=1, ident=0xffffffff, nxt=6}/"mid",
  layers="eth/ipv6/ipv6_frag/raw"}
case{"ipv6 in ipv6", ether{}/ipv6{src=A6, dst=B6}/ipv6{src="2001:db8:1::1", dst="2001:db8:1::2"}/udp{sport=40000, dport=40045}/"6in6",
  layers="eth/ipv6/ipv6/udp/raw"}
case{"ip in ipv6", ether{}/ipv6{src=A6, dst=B6}/ip{src=A, dst=B}/icmp{}, layers="eth/ipv6/ip/icmp"}

---------------------------------------------------------------- ICMPv6
case{"icmpv6 echo request", ether{}/ipv6{src=A6, dst=B6}/icmpv6{type="echo-request", id=0x4242, seq=7}/"ping6",
  layers="eth/ipv6/icmpv6/raw"}
case{"icmpv6 echo reply", ether{}/ipv6{src=B6, dst=A6}/icmpv6{type="echo-reply", id=0x4242, seq=7}/"ping6",
  layers="eth/ipv6/icmpv6/raw"}
case{"icmpv6 port unreachable",
  ether{}/ipv6{src=B6, dst=A6}/icmpv6{type=1, code=4}/ipv6{src=A6, dst=B6}/udp{sport=40000, dport=33434}/"probe",
  layers="eth/ipv6/icmpv6/ipv6/udp/raw"}
case{"icmpv6 packet too big",
  ether{}/ipv6{src=B6, dst=A6}/icmpv6{type=2, mtu=1280}/ipv6{src=A6, dst=B6}/tcp{sport=40000, dport=40443, flags="PA"}/"data",
  layers="eth/ipv6/icmpv6/ipv6/tcp/raw"}
case{"icmpv6 time exceeded",
  ether{}/ipv6{src=B6, dst=A6}/icmpv6{type=3, code=0}/ipv6{src=A6, dst="2001:db8::99", hlim=1}/icmpv6{type=128, id=1, seq=1},
  layers="eth/ipv6/icmpv6/ipv6/icmpv6"}
case{"icmpv6 parameter problem",
  ether{}/ipv6{src=B6, dst=A6}/icmpv6{type=4, code=1, ptr=40}/ipv6{src=A6, dst=B6, nxt=150},
  layers="eth/ipv6/icmpv6/ipv6"}
case{"icmpv6 router solicitation",
  set(ether{src=MA, dst="33:33:00:00:00:02"}/ipv6{src="fe80::1", dst="ff02::2", hlim=255}/icmpv6{type=133}, "icmpv6", "options", "slla=02:00:00:00:00:01"),
  layers="eth/ipv6/icmpv6", expect="icmpv6.type=133,icmpv6.opt.type=1,icmpv6.opt.length=1,icmpv6.opt.linkaddr=02:00:00:00:00:01"}
case{"icmpv6 router solicitation no options",
  ether{src=MA, dst="33:33:00:00:00:02"}/ipv6{src="::", dst="ff02::2", hlim=255}/icmpv6{type="rs"},
  layers="eth/ipv6/icmpv6"}
case{"icmpv6 router advertisement",
  set(ether{src=MB, dst="33:33:00:00:00:01"}/ipv6{src="fe80::2", dst="ff02::1", hlim=255}/icmpv6{type=134, chlim=64, managed=1, other=1, routerlifetime=1800, reachabletime=30000, retranstimer=1000}, "icmpv6", "options", "slla=02:00:00:00:00:02,mtu=1500,prefix=2001:db8::/64:0xc0:2592000:604800"),
  layers="eth/ipv6/icmpv6",
  expect="icmpv6.nd.ra.cur_hop_limit=64,icmpv6.nd.ra.flag.m=1,icmpv6.nd.ra.flag.o=1,icmpv6.nd.ra.router_lifetime=1800,icmpv6.nd.ra.reachable_time=30000,icmpv6.nd.ra.retrans_timer=1000,icmpv6.opt.mtu=1500,icmpv6.opt.prefix.length=64,icmpv6.opt.prefix.flag.l=1,icmpv6.opt.prefix.flag.a=1,icmpv6.opt.prefix.valid_lifetime=2592000,icmpv6.opt.prefix.preferred_lifetime=604800,icmpv6.opt.prefix=2001:db8::"}
case{"icmpv6 router advertisement defaults", ether{src=MB}/ipv6{src="fe80::2", dst="ff02::1", hlim=255}/icmpv6{type="ra"},
  layers="eth/ipv6/icmpv6"}
case{"icmpv6 neighbor solicitation",
  set(ether{src=MA, dst="33:33:ff:00:00:02"}/ipv6{src="fe80::1", dst="ff02::1:ff00:2", hlim=255}/icmpv6{type=135, tgt="fe80::2"}, "icmpv6", "options", "slla=02:00:00:00:00:01"),
  layers="eth/ipv6/icmpv6", expect="icmpv6.nd.ns.target_address=fe80::2,icmpv6.opt.linkaddr=02:00:00:00:00:01"}
case{"icmpv6 neighbor solicitation dad", ether{src=MA, dst="33:33:ff:00:00:01"}/ipv6{src="::", dst="ff02::1:ff00:1", hlim=255}/icmpv6{type=135, tgt="fe80::1"},
  layers="eth/ipv6/icmpv6"}
case{"icmpv6 neighbor advertisement",
  set(ether{src=MB, dst=MA}/ipv6{src="fe80::2", dst="fe80::1", hlim=255}/icmpv6{type=136, router=1, solicited=1, override=1, tgt="fe80::2"}, "icmpv6", "options", "tlla=02:00:00:00:00:02"),
  layers="eth/ipv6/icmpv6",
  expect="icmpv6.nd.na.flag.r=1,icmpv6.nd.na.flag.s=1,icmpv6.nd.na.flag.o=1,icmpv6.nd.na.target_address=fe80::2,icmpv6.opt.type=2,icmpv6.opt.linkaddr=02:00:00:00:00:02"}
case{"icmpv6 neighbor advertisement unsolicited", ether{src=MB}/ipv6{src="fe80::2", dst="ff02::1", hlim=255}/icmpv6{type=136, router=0, solicited=0, override=1, tgt="fe80::2"},
  layers="eth/ipv6/icmpv6"}
case{"icmpv6 redirect", set(ether{src=MB, dst=MA}/ipv6{src="fe80::2", dst="fe80::1", hlim=255}/icmpv6{type=137, tgt="fe80::3", dst="2001:db8::99"}, "icmpv6", "options", "tlla=02:00:00:00:00:03"),
  layers="eth/ipv6/icmpv6",
  expect="icmpv6.nd.rd.target_address=fe80::3,icmpv6.rd.na.destination_address=2001:db8::99,icmpv6.opt.linkaddr=02:00:00:00:00:03"}
case{"icmpv6 mld report", ether{src=MA, dst="33:33:00:00:00:fb"}/ipv6{src="fe80::1", dst="ff02::fb", hlim=1}/ipv6_hop{options="ra=0"}/icmpv6{type=131, mladdr="ff02::fb"},
  layers="eth/ipv6/ipv6_hop/icmpv6"}
case{"icmpv6 mld query", ether{src=MB, dst="33:33:00:00:00:01"}/ipv6{src="fe80::2", dst="ff02::1", hlim=1}/ipv6_hop{options="ra=0"}/icmpv6{type=130, mrd=10000},
  layers="eth/ipv6/ipv6_hop/icmpv6"}
case{"icmpv6 bad checksum", ether{}/ipv6{src=A6, dst=B6}/icmpv6{chksum=0xbad0}, layers="eth/ipv6/icmpv6",
  malformed="icmpv6.checksum_bad", uflags="icmpv6:bad_checksum"}

case{"icmpv6 unreachable no route quoting tcp",
  ether{}/ipv6{src=B6, dst=A6}/icmpv6{type="dest-unreach", code=0}/ipv6{src=A6, dst=B6}/tcp{sport=40000, dport=22, flags="S", options="mss=1440"},
  layers="eth/ipv6/icmpv6/ipv6/tcp"}
case{"icmpv6 echo max id seq", ether{}/ipv6{src=A6, dst=B6}/icmpv6{type=128, id=65535, seq=65535}, layers="eth/ipv6/icmpv6"}

---------------------------------------------------------------- UDP
case{"udp ports max", ether{}/ip{src=A, dst=B}/udp{sport=65535, dport=1}/"u", layers="eth/ip/udp/raw"}
case{"udp no checksum", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=40020, chksum=0}/"no sum",
  layers="eth/ip/udp/raw", expect="udp.checksum=0"}
case{"udp empty", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=40021}, layers="eth/ip/udp"}
case{"udp over ipv6", ether{}/ipv6{src=A6, dst=B6}/udp{sport=40000, dport=40022}/"v6", layers="eth/ipv6/udp/raw"}
case{"udp bad checksum", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=40023, chksum=0xbeef}/"bad",
  layers="eth/ip/udp/raw", malformed="udp.checksum.bad", uflags="udp:bad_checksum"}
case{"udp length too long", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=40024, len=100}/"lie",
  layers="eth/ip/udp", malformed="udp.length.bad,_ws.malformed", uflags="udp:invalid", expect="udp.length=100"}
case{"udp length below 8", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=40025, len=4}/"lie",
  layers="eth/ip/udp", malformed="udp.length.bad,_ws.malformed", uflags="udp:invalid", expect="udp.length=4"}

case{"udp source port 0", ether{}/ip{src=A, dst=B}/udp{sport=0, dport=40046}/"zero", layers="eth/ip/udp/raw"}
-- umpa, like Scapy, sums the whole datagram; tshark and umpa's dissector verify the 10 bytes udp.length claims
case{"udp length shorter than payload", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=40047, len=10}/"only two count",
  layers="eth/ip/udp/raw", malformed="udp.checksum.bad", uflags="udp:bad_checksum", expect="udp.length=10"}
case{"udp zero checksum over ipv6", ether{}/ipv6{src=A6, dst=B6}/udp{sport=40000, dport=40048, chksum=0}/"none",
  layers="eth/ipv6/udp/raw", malformed="udp.checksum.zero", uflags="udp:bad_checksum"}

---------------------------------------------------------------- TCP
case{"tcp syn options", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1000, flags="S", options="mss=1460,sackok,ts=100:0,nop,wscale=7"},
  layers="eth/ip/tcp"}
case{"tcp syn-ack options", ether{}/ip{src=B, dst=A}/tcp{sport=80, dport=40000, seq=5000, ack=1001, flags="SA", options="mss=1400,nop,wscale=0,sackok,ts=200:100"},
  layers="eth/ip/tcp"}
case{"tcp ack", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1001, ack=5001, flags="A", window=65535},
  layers="eth/ip/tcp"}
case{"tcp push data", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=40080, seq=1001, ack=5001, flags="PA"}/"hello, world\n",
  layers="eth/ip/tcp/raw"}
case{"tcp fin ack", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=2000, ack=6000, flags="FA"}, layers="eth/ip/tcp"}
case{"tcp rst", ether{}/ip{src=B, dst=A}/tcp{sport=80, dport=40000, seq=6000, flags="R", window=0}, layers="eth/ip/tcp"}
case{"tcp rst ack", ether{}/ip{src=B, dst=A}/tcp{sport=80, dport=40001, seq=0, ack=1001, flags="RA", window=0},
  layers="eth/ip/tcp"}
case{"tcp urgent", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=9, seq=10, ack=20, flags="PAU", urgptr=3}/"!!!x",
  layers="eth/ip/tcp/raw"}
case{"tcp ecn syn", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="SEC"}, layers="eth/ip/tcp"}
case{"tcp ae flag", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=7, ack=8, flags="AN"}, layers="eth/ip/tcp"}
case{"tcp no flags", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags=0}, layers="eth/ip/tcp"}
case{"tcp reserved bits", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=1, flags="A", reserved=5},
  layers="eth/ip/tcp", expect="tcp.flags.res=5"}
case{"tcp seq ack max", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=4294967295, ack=4294967295, flags="A"},
  layers="eth/ip/tcp"}
case{"tcp sack blocks", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=100, ack=1000, flags="A", options="nop,nop,sack=2000-3000:4000-5000"},
  layers="eth/ip/tcp"}
case{"tcp options eol and unknown", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="mss=536,252=0102,eol"},
  layers="eth/ip/tcp"}
case{"tcp timestamps only", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=1, flags="A", options="nop,nop,ts=4294967295:1"},
  layers="eth/ip/tcp"}
case{"tcp over ipv6", ether{}/ipv6{src=A6, dst=B6}/tcp{sport=40000, dport=22, flags="S", options="mss=1440,sackok,ts=1:0,nop,wscale=9"},
  layers="eth/ipv6/tcp"}
case{"tcp bad checksum", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, chksum=0x0001}, layers="eth/ip/tcp",
  malformed="tcp.checksum_bad", uflags="tcp:bad_checksum", expect="tcp.checksum=1"}
case{"tcp data offset too big", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, dataofs=15}, layers="eth/ip/tcp",
  malformed="tcp.short_segment,_ws.malformed", uflags="tcp:invalid", expect="tcp.hdr_len=60"}
case{"tcp data offset below 5", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, dataofs=2}/"xx", layers="eth/ip/tcp",
  malformed="tcp.bogus_header_length", uflags="tcp:invalid", expect="tcp.hdr_len=8",
  -- tcp.len is derived: tshark subtracts the lying 8-byte header, umpa the 20 bytes it keeps
  skip="tcp.len"}

case{"tcp xmas", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=0, flags="FPU", urgptr=0}, layers="eth/ip/tcp"}
case{"tcp syn fin", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="SF"}, layers="eth/ip/tcp"}
case{"tcp all flags", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=1, flags="FSRPAUECN", urgptr=1}, layers="eth/ip/tcp"}
case{"tcp window 0 urgptr without urg", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=1, flags="A", window=0, urgptr=99},
  layers="eth/ip/tcp"}
case{"tcp option md5", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=179, flags="S", options="19=00112233445566778899aabbccddeeff,eol"},
  layers="eth/ip/tcp"}
case{"tcp option user timeout", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=1, flags="A", options="28=8258,nop,nop"},
  layers="eth/ip/tcp"}
case{"tcp option fast open cookie", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="mss=1460,34=0102030405060708"},
  layers="eth/ip/tcp"}
case{"tcp option fast open request", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="34,nop,nop"},
  layers="eth/ip/tcp"}
case{"tcp option unknown kind", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=1, flags="A", options="99=0102030405,nop"},
  layers="eth/ip/tcp"}
case{"tcp option experimental", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="mss=1460,254=abcd0102,253=1234"},
  layers="eth/ip/tcp"}
case{"tcp option experimental fast open", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="mss=1460,254=f989,nop,nop"},
  layers="eth/ip/tcp"}
case{"tcp wscale 14", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="nop,wscale=14"}, layers="eth/ip/tcp"}
case{"tcp sack one block", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=100, flags="A", options="nop,nop,sack=200-300"},
  layers="eth/ip/tcp"}
case{"tcp sack four blocks", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, seq=1, ack=100, flags="A", options="nop,nop,sack=200-300:400-500:600-700:800-900"},
  layers="eth/ip/tcp"}
case{"tcp one byte push", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=40049, seq=9, ack=9, flags="PA"}/"!", layers="eth/ip/tcp/raw"}
case{"tcp option overruns header", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=80, flags="S", options="2=05b4"}/"", layers="eth/ip/tcp"}

---------------------------------------------------------------- DNS
case{"dns query A", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=53}/dns{id=0x1234, rd=1, qd="example.com:A"},
  layers="eth/ip/udp/dns"}
case{"dns query AAAA MX TXT", ether{}/ip{src=A, dst=B}/udp{sport=40001, dport=53}/dns{id=2, qd="example.com:AAAA,example.com:MX,example.com:TXT"},
  layers="eth/ip/udp/dns"}
case{"dns response A", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40000}/dns{id=0x1234, qr=1, rd=1, ra=1, qd="example.com:A", an="example.com:A:300:192.0.2.1,example.com:A:300:192.0.2.2"},
  layers="eth/ip/udp/dns"}
case{"dns response AAAA", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40001}/dns{id=3, qr=1, aa=1, qd="example.com:AAAA", an="example.com:AAAA:86400:2001:db8::53"},
  layers="eth/ip/udp/dns"}
case{"dns response CNAME chain", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40002}/dns{id=4, qr=1, qd="www.example.com:A", an="www.example.com:CNAME:60:example.com,example.com:A:60:192.0.2.7"},
  layers="eth/ip/udp/dns"}
case{"dns response MX", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40003}/dns{id=5, qr=1, qd="example.com:MX", an="example.com:MX:3600:10/mail.example.com,example.com:MX:3600:20/mx2.example.com"},
  layers="eth/ip/udp/dns"}
case{"dns response TXT", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40004}/dns{id=6, qr=1, qd="example.com:TXT", an="example.com:TXT:300:v=spf1 -all"},
  layers="eth/ip/udp/dns"}
case{"dns nxdomain with SOA", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40005}/dns{id=7, qr=1, rcode=3, qd="nope.example.com:A", ns="example.com:SOA:900:ns1.example.com/hostmaster.example.com/2024010101/7200/3600/1209600/300"},
  layers="eth/ip/udp/dns"}
case{"dns NS and glue", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40006}/dns{id=8, qr=1, qd="example.com:NS", an="example.com:NS:172800:ns1.example.com", ar="ns1.example.com:A:172800:192.0.2.53"},
  layers="eth/ip/udp/dns"}
case{"dns PTR", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40007}/dns{id=9, qr=1, qd="1.2.0.192.in-addr.arpa:PTR", an="1.2.0.192.in-addr.arpa:PTR:3600:host.example.com"},
  layers="eth/ip/udp/dns"}
case{"dns edns0", ether{}/ip{src=A, dst=B}/udp{sport=40008, dport=53}/dns{id=10, rd=1, qd="example.com:A", ar=".:OPT:1232:do"},
  layers="eth/ip/udp/dns"}
case{"dns over ipv6", ether{}/ipv6{src=A6, dst=B6}/udp{sport=40009, dport=53}/dns{id=11, qd="example.org:AAAA"},
  layers="eth/ipv6/udp/dns"}
-- A response with compression pointers, written as bytes (umpa writes names uncompressed):
-- id 0x0c0c, qr rd ra, 1 question example.com A, answers: c00c CNAME -> www.<ptr 0x0c>, then A for it.
case{"dns compressed response",
  ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40010}/("\x0c\x0c\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00" ..
    "\x07example\x03com\x00\x00\x01\x00\x01" ..
    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x06\x03www\xc0\x0c" ..
    "\xc0\x29\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x0a"),
  layers="eth/ip/udp/dns",
  expect="dns.id=0x0c0c,dns.count.answers=2,dns.qry.name=example.com,dns.resp.name=example.com,dns.cname=www.example.com,dns.a=192.0.2.10"}
case{"dns over tcp", ether{}/ip{src=B, dst=A}/tcp{sport=53, dport=40011, seq=1, ack=1, flags="PA"}/("\x00\x1d" ..
    "\x00\x0d\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"),
  layers="eth/ip/tcp/dns", expect="dns.length=29,dns.id=0x000d,dns.qry.name=example.com"}
case{"dns lying qdcount", ether{}/ip{src=A, dst=B}/udp{sport=40012, dport=53}/dns{id=12, qdcount=3, qd="example.com:A"},
  layers="eth/ip/udp/dns", malformed="_ws.malformed", uflags="dns:invalid", expect="dns.count.queries=3",
  -- Scapy reads two more (garbage) questions past the message's end
  skip="dns.qry.name,dns.qry.type,dns.qry.class"}
case{"dns chaos txt", ether{}/ip{src=A, dst=B}/udp{sport=40013, dport=53}/dns{id=13, qd="version.bind:TXT:CH"},
  layers="eth/ip/udp/dns"}
case{"dns txt two strings", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40014}/dns{id=14, qr=1, aa=1, qd="example.com:TXT", an='example.com:TXT:60:"first string" "second"'},
  layers="eth/ip/udp/dns"}
case{"dns srv", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40015}/dns{id=15, qr=1, qd="_sip._udp.example.com:SRV", an="_sip._udp.example.com:SRV:300:10/60/5060/sip.example.com"},
  layers="eth/ip/udp/dns",
  -- tshark 4.0 shows an SRV record's owner as dns.srv.service/proto/name, not dns.resp.name
  skip="dns.resp.name"}
case{"dns hinfo", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40016}/dns{id=16, qr=1, qd="host.example.com:HINFO", an="host.example.com:HINFO:300:x86_64/Linux"},
  layers="eth/ip/udp/dns"}
case{"dns any query", ether{}/ip{src=A, dst=B}/udp{sport=40017, dport=53}/dns{id=17, rd=0, qd="example.com:ANY"}, layers="eth/ip/udp/dns"}
case{"dns notify", ether{}/ip{src=A, dst=B}/udp{sport=40018, dport=53}/dns{id=18, opcode=4, aa=1, rd=0, qd="example.com:SOA"},
  layers="eth/ip/udp/dns"}
case{"dns truncated response", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40019}/dns{id=19, qr=1, tc=1, qd="example.com:TXT"},
  layers="eth/ip/udp/dns"}
case{"dns servfail ad cd", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40020}/dns{id=20, qr=1, rcode=2, ad=1, cd=1, qd="example.com:A"},
  layers="eth/ip/udp/dns"}
case{"dns edns0 cookie", ether{}/ip{src=A, dst=B}/udp{sport=40021, dport=53}/dns{id=21, qd="example.com:A", ar=".:OPT:4096:cookie=0102030405060708"},
  layers="eth/ip/udp/dns"}
case{"dns aaaa in additional", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40022}/dns{id=22, qr=1, qd="example.com:MX", an="example.com:MX:300:10/mx.example.com", ar="mx.example.com:AAAA:300:2001:db8::25,mx.example.com:A:300:192.0.2.25"},
  layers="eth/ip/udp/dns"}
case{"dns lying ancount", ether{}/ip{src=B, dst=A}/udp{sport=53, dport=40023}/dns{id=23, qr=1, ancount=2, qd="example.com:A", an="example.com:A:300:192.0.2.1"},
  layers="eth/ip/udp/dns", malformed="_ws.malformed", uflags="dns:invalid", expect="dns.count.answers=2",
  -- Scapy reads a second (garbage) answer past the message's end
  skip="dns.resp.name,dns.resp.type,dns.resp.class,dns.resp.ttl,dns.resp.len,dns.a"}

---------------------------------------------------------------- GRE, ERSPAN, MPLS, GENEVE, IP in IP
-- (tshark and Scapy must agree with umpa on every field; the optional GRE fields move with the flags)
case{"gre plain ipv4", ether{}/ip{src=A, dst=B}/gre{}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/gre/ip/icmp", expect="gre.proto=0x0800"}
case{"gre key", ether{}/ip{src=A, dst=B}/gre{key=0x28}/ip{src="10.1.0.1", dst="10.1.0.2"}/udp{sport=40000, dport=40040}/"k",
  layers="eth/ip/gre/ip/udp/raw", expect="gre.flags.key=1"}
case{"gre checksum key sequence, checksum lies", ether{}/ip{src=A, dst=B}/gre{seq=7, key=0x1234, checksum=0xbeef}/ipv6{src=A6, dst=B6}/icmpv6{},
  layers="eth/ip/gre/ipv6/icmpv6", malformed="gre.checksum.incorrect", uflags="gre:bad_checksum"}
case{"gre automatic checksum", ether{}/ip{src=A, dst=B}/gre{offset=0}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{}/"sum me",
  layers="eth/ip/gre/ip/icmp/raw", expect="gre.flags.checksum=1"}
case{"gre sequence only over ipv6", ether{}/ipv6{src=A6, dst=B6}/gre{seq=4000000000}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ipv6/gre/ip/icmp"}
case{"gre transparent ethernet", ether{}/ip{src=A, dst=B}/gre{key=5}/ether{src=MA, dst=MB}/arp{psrc=A, pdst=B},
  layers="eth/ip/gre/eth/arp", expect="gre.proto=0x6558"}
case{"gre unknown protocol", ether{}/ip{src=A, dst=B}/gre{proto=0x88b5}/"\x01\x02\x03\x04", layers="eth/ip/gre/raw"}
-- (an acknowledgement alone: with a payload tshark decodes the PPP inside, which umpa keeps as bytes)
case{"gre pptp version 1", ether{}/ip{src=A, dst=B}/gre{version=1, proto=0x880b, call_id=9, ack_number=2},
  layers="eth/ip/gre", expect="gre.key.payload_length=0,gre.flags.ack=1,gre.flags.key=1"}
case{"erspan type II", ether{}/ip{src=A, dst=B}/gre{seq=171}/erspan{vlan=342, cos=6, spanid=666, index=32760}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/gre/erspan/eth/ip/icmp", expect="gre.proto=0x88be,erspan.version=1"}
case{"erspan type III", ether{}/ip{src=A, dst=B}/gre{}/erspan{vlan=20, spanid=5, timestamp=0x11223344, sgt=256, gra=3, direction=1}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/gre/erspan/eth/ip/icmp", expect="gre.proto=0x22eb,erspan.version=2"}
case{"erspan type III platform subheader", ether{}/ip{src=A, dst=B}/gre{}/erspan{vlan=20, timestamp=1, platid=3}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/gre/erspan/eth/ip/icmp", expect="erspan.o=1"}
case{"erspan type I", ether{}/ip{src=A, dst=B}/gre{proto=0x88be}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/gre/erspan/eth/ip/icmp"}
case{"mpls one label", ether{src=MA, dst=MB}/mpls{label=100704, ttl=1}/ip{src=A, dst=B}/udp{sport=40000, dport=40041}/"m",
  layers="eth/mpls/ip/udp/raw", expect="mpls.bottom=1,eth.type=0x8847"}
case{"mpls label stack", ether{src=MA, dst=MB}/mpls{label=16, exp=5, ttl=64}/mpls{label=17, ttl=63}/mpls{label=18, ttl=62}/ipv6{src=A6, dst=B6}/icmpv6{},
  layers="eth/mpls/mpls/mpls/ipv6/icmpv6"}
case{"mpls over udp", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=6635}/mpls{label=21, ttl=63}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/udp/mpls/ip/icmp"}
case{"mpls in gre", ether{}/ip{src=A, dst=B}/gre{}/mpls{label=30, ttl=9}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/gre/mpls/ip/icmp", expect="gre.proto=0x8847"}
case{"geneve ethernet", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=6081}/geneve{vni=11}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/udp/geneve/eth/ip/icmp", expect="geneve.proto_type=0x6558,geneve.option.length=0"}
case{"geneve options", ether{}/ip{src=A, dst=B}/udp{sport=40000, dport=6081}/geneve{vni=10, critical=1, options="0x0000.0x80=0000000c,0x0104.0x01=0102030405060708"}/ether{src=MA, dst=MB}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ip/udp/geneve/eth/ip/icmp", expect="geneve.option.length=20"}
case{"geneve gcp options ipv4", ether{}/ipv6{src=A6, dst=B6}/udp{sport=40000, dport=6081}/geneve{oam=1, options="0x0132.1=800000d1,0x0132.3=0000000000001234"}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{},
  layers="eth/ipv6/udp/geneve/ip/icmp", expect="geneve.proto_type=0x0800,geneve.option.gcp.profile=4660"}
case{"ip in ip", ether{}/ip{src=A, dst=B}/ip{src="10.1.0.1", dst="10.1.0.2"}/icmp{}, layers="eth/ip/ip/icmp", expect="ip.proto=4"}
case{"ipv6 in ip", ether{}/ip{src=A, dst=B}/ipv6{src=A6, dst=B6}/icmpv6{}, layers="eth/ip/ipv6/icmpv6", expect="ip.proto=41"}
case{"ipv6 in ipv6", ether{}/ipv6{src=A6, dst=B6}/ipv6{src="2001:db8:1::1", dst="2001:db8:1::2"}/udp{sport=40000, dport=40042}/"6in6",
  layers="eth/ipv6/ipv6/udp/raw", expect="ipv6.nxt=41"}
case{"ip in ipv6", ether{}/ipv6{src=A6, dst=B6}/ip{src="10.1.0.1", dst="10.1.0.2"}/tcp{sport=40000, dport=40043, flags="S"},
  layers="eth/ipv6/ip/tcp", expect="ipv6.nxt=4"}

---------------------------------------------------------------- DHCP (BOOTP + options)
local CM = "02:00:00:00:00:33"
case{"dhcp discover", ether{src=CM}/ip{src="0.0.0.0", dst="255.255.255.255"}/udp{sport=68, dport=67}/dhcp{xid=0x06e32864, mac=CM, flags=0x8000, options="message_type=discover,requested_ip_address=192.168.1.4,param_req_list=1:28:2:3:15:6:12,hostname=umpa-host,end,pad,pad"},
  layers="eth/ip/udp/dhcp", expect="dhcp.option.dhcp=1,dhcp.flags.bc=1"}
case{"dhcp offer from a list of options", ether{dst=CM}/ip{src="10.0.0.1", dst="10.0.0.50"}/udp{sport=67, dport=68}/dhcp{op=2, xid=0x1234, yiaddr="10.0.0.50", siaddr="10.0.0.1", mac=CM,
    options={{type="message_type", value="offer"}, {type="server_id", value="10.0.0.1"}, {type="lease_time", value=3600},
             {type="subnet_mask", value="255.255.255.0"}, {type="router", value="10.0.0.1"}, {type="dns", value={"10.0.0.1", "10.0.0.2"}},
             {type="domain_name", value="example.com"}, {type=58, value="00000708"}}},
  layers="eth/ip/udp/dhcp", expect="dhcp.option.dhcp=2,dhcp.option.ip_address_lease_time=3600,dhcp.option.renewal_time_value=1800"}
case{"dhcp ack time offset mtu", ether{dst=CM}/ip{src="10.0.0.1", dst="10.0.0.50"}/udp{sport=67, dport=68}/dhcp{op=2, xid=7, yiaddr="10.0.0.50", mac=CM, options="message_type=ack,time_offset=0xffffe3e0,interface_mtu=1400,ntp_server=10.0.0.9,client_id=01020000000033"},
  layers="eth/ip/udp/dhcp", expect="dhcp.option.time_offset=-7200"}
case{"dhcp token ring client", ether{}/ip{src="10.0.0.2", dst="10.0.0.1"}/udp{sport=68, dport=67}/dhcp{htype=6, hlen=8, hops=1, secs=3, giaddr="10.0.0.254", options="message_type=request,max_dhcp_size=1500"},
  layers="eth/ip/udp/dhcp", expect="dhcp.hw.len=8"}

---------------------------------------------------------------- IGMP v1, v2, v3
case{"igmp v2 general query", ether{}/ip{src=A, dst="224.0.0.1", ttl=1}/igmp{}, layers="eth/ip/igmp", expect="igmp.version=2"}
case{"igmp v2 group query", ether{}/ip{src=A, dst="239.1.1.1", ttl=1}/igmp{max_resp=10, maddr="239.1.1.1"}, layers="eth/ip/igmp"}
-- (version 1: umpa shows the unused byte as igmp.max_resp 0 too, Wireshark only as igmp.reserved)
case{"igmp v1 query", ether{}/ip{src=A, dst="224.0.0.1", ttl=1}/igmp{max_resp=0}, layers="eth/ip/igmp", expect="igmp.version=1",
  skip="igmp.max_resp"}
case{"igmp v1 report", ether{}/ip{src=A, dst="239.1.1.1", ttl=1}/igmp{type=0x12, max_resp=0, maddr="239.1.1.1"}, layers="eth/ip/igmp",
  skip="igmp.max_resp"}
case{"igmp v2 report", ether{}/ip{src=A, dst="239.1.1.2", ttl=1}/igmp{type=0x16, max_resp=0, maddr="239.1.1.2"}, layers="eth/ip/igmp"}
case{"igmp leave", ether{}/ip{src=A, dst="224.0.0.2", ttl=1}/igmp{type="leave-group", max_resp=0, maddr="239.1.1.2"}, layers="eth/ip/igmp"}
case{"igmp v3 query with sources", ether{}/ip{src=A, dst="239.1.1.3", ttl=1}/igmp{maddr="239.1.1.3", qrv=2, qqic=125, sources="10.0.0.7:10.0.0.8"},
  layers="eth/ip/igmp", expect="igmp.version=3,igmp.num_src=2"}
case{"igmp v3 general query", ether{}/ip{src=A, dst="224.0.0.1", ttl=1}/igmp{qrv=2, qqic=125}, layers="eth/ip/igmp", expect="igmp.num_src=0"}
case{"igmp v3 report", ether{}/ip{src=A, dst="224.0.0.22", ttl=1}/igmp{type=0x22, records="is_ex:239.1.1.4,allow:239.1.1.5:10.0.0.1:10.0.0.2"},
  layers="eth/ip/igmp", expect="igmp.num_grp_recs=2"}
case{"igmp bad checksum", ether{}/ip{src=A, dst="224.0.0.1", ttl=1}/igmp{checksum=0x1234}, layers="eth/ip/igmp",
  malformed="igmp.bad_checksum", uflags="igmp:bad_checksum"}

---------------------------------------------------------------- TLS (records over TCP 443 or found by the heuristic)
-- The record constructor is ssl{} (alias of the tls protocol): tls{...} in Lua is the TLS pump's conversation call.
-- Hello bodies are real ones OpenSSL 3.0 wrote (test_tls_dissect.c's conversations): ClientHello with SNI
-- server.umpa.test, ALPN h2/http1.1, supported_versions, key_share x25519; TLS 1.3 and TLS 1.2 ServerHellos.
local CH13 = "03036911197da4b0d4e47dbe2cf62d761ace6f8fac4e3877f11862a930404f5c42a520b5388f7e6681564a02a60aea80bb85217900d3e0c70371b85aa5d185c25a6fad000813021303130100ff010000b20000001500130000107365727665722e756d70612e74657374000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020b48971d6193c0f83b96a9479c0bb32bfc8274880ba67bc0d6ef417b5ac9d891e"
local SH13 = "0303a4ae9d0665f04f6184a4ea1621d2b4665c2e528cdf9317bbb53fddc76d1ef9cd20b5388f7e6681564a02a60aea80bb85217900d3e0c70371b85aa5d185c25a6fad130200002e002b0002030400330024001d0020a3803da38c6aaa88f3242a217f578e857b74bee8d14a4a7ae7603ebb19df1a2c"
local SH12 = "030352b440d0e0b32f79eecded25296e526464290893e208c2d83e2a349c03a43cbe00c02b00001eff01000100000b0004030001020023000000100005000302683200170000"
case{"tls client hello", ether{}/ip{src=A, dst=B}/tcp{sport=40000, dport=443, flags="PA"}/ssl{version=0x0301, handshake="client_hello=" .. CH13},
  layers="eth/ip/tcp/tls"}
case{"tls 1.3 server hello", ether{}/ip{src=B, dst=A}/tcp{sport=443, dport=40000, flags="PA"}/ssl{handshake="server_hello=" .. SH13},
  layers="eth/ip/tcp/tls"}
case{"tls 1.2 server hello and done", ether{}/ip{src=B, dst=A}/tcp{sport=443, dport=40001, flags="PA"}/ssl{handshake="server_hello=" .. SH12 .. ",server_hello_done"},
  layers="eth/ip/tcp/tls"}
case{"tls records in one segment", ether{}/ip{src=B, dst=A}/tcp{sport=443, dport=40002, flags="PA"}/ssl{handshake="server_hello_done"}/ssl{content_type="change_cipher_spec", data="01"}/ssl{content_type="application_data", data="0011223344556677"},
  layers="eth/ip/tcp/tls/tls/tls"}
case{"tls alert", ether{}/ip{src=A, dst=B}/tcp{sport=40003, dport=443, flags="PA"}/ssl{alert="fatal:handshake_failure"},
  layers="eth/ip/tcp/tls"}
case{"tls close notify warning", ether{}/ip{src=A, dst=B}/tcp{sport=40004, dport=993, flags="PA"}/ssl{alert="warning:close_notify"},
  layers="eth/ip/tcp/tls"}
case{"tls encrypted alert", ether{}/ip{src=A, dst=B}/tcp{sport=40005, dport=443, flags="PA"}/ssl{content_type="alert", data="0102030405060708090a0b0c0d0e0f101112"},
  layers="eth/ip/tcp/tls"}
case{"tls application data on another port (heuristic)", ether{}/ip{src=A, dst=B}/tcp{sport=40006, dport=40443, flags="PA"}/ssl{content_type="application_data", data="a1a2a3a4a5a6a7a8a9"},
  layers="eth/ip/tcp/tls"}
case{"tls raw payload record", ether{}/ip{src=A, dst=B}/tcp{sport=40007, dport=443, flags="PA"}/ssl{}/"\x0e\x00\x00\x00",
  layers="eth/ip/tcp/tls", expect="tls.record.length=4,tls.handshake.type=14"}
case{"tls over ipv6", ether{}/ipv6{src=A6, dst=B6}/tcp{sport=40008, dport=443, flags="PA"}/ssl{handshake="client_hello=" .. CH13},
  layers="eth/ipv6/tcp/tls"}

---------------------------------------------------------------- SCTP (common header and chunks; CRC32c)
case{"sctp data", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40001, tag=0x1234, chunks="data=5:1:2:0:68656c6c6f"},
  layers="eth/ip/sctp", expect="sctp.data_tsn_raw=5,sctp.chunk_length=21,data.data=68:65:6c:6c:6f"}
case{"sctp init with addresses", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40002, chunks="init=0xabcd:65536:10:10:100:000500080a000001000c00060005"},
  layers="eth/ip/sctp", expect="sctp.init_nr_out_streams=10,sctp.parameter_ipv4_address=10.0.0.1"}
case{"sctp init ack with cookie", ether{}/ipv6{src=A6, dst=B6}/sctp{sport=40002, dport=40000, tag=0xabcd, chunks="init_ack=0x55aa:32768:5:5:7:0007000861626364"},
  layers="eth/ipv6/sctp", expect="sctp.parameter_state_cookie=61:62:63:64"}
case{"sctp sack gaps and dups", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40003, tag=7, chunks="sack=7:1000:2-3:5-5:9"},
  layers="eth/ip/sctp", expect="sctp.sack_number_of_gap_blocks=2,sctp.sack_gap_block_end_tsn=10,sctp.sack_duplicate_tsn=9"}
case{"sctp heartbeat and ack", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40004, tag=7, chunks="heartbeat=0102030405,heartbeat_ack=0102030405"},
  layers="eth/ip/sctp", expect="sctp.parameter_length=9"}
case{"sctp abort with t bit and cause", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40005, tag=7, chunks="abort.1=000c0007616263"},
  layers="eth/ip/sctp", expect="sctp.abort_t_bit=1,sctp.cause_code=12"}
case{"sctp shutdown sequence bundled", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40006, tag=7, chunks="shutdown=9,shutdown_ack,shutdown_complete,cookie_echo=7879,cookie_ack"},
  layers="eth/ip/sctp", expect="sctp.shutdown_cumulative_tsn_ack=9,sctp.cookie=78:79"}
case{"sctp two data chunks unordered", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40007, tag=7, chunks="data.0x07=1:0:0:0:6869,data.0x03=2:0:1:0:0102030405060708"},
  layers="eth/ip/sctp", expect="sctp.data_u_bit=1"}
case{"sctp bad checksum", ether{}/ip{src=A, dst=B}/sctp{sport=40000, dport=40008, checksum=0x12345678, chunks="cookie_ack"},
  layers="eth/ip/sctp", malformed="sctp.checksum_bad", uflags="sctp:bad_checksum"}

---------------------------------------------------------------- DHCPv6
local L6, M6 = "fe80::1", "ff02::1:2"
case{"dhcpv6 solicit", ether{}/ipv6{src=L6, dst=M6}/udp{sport=546, dport=547}/dhcpv6{xid=0x123456, options="client_id=000100010000002a020000000001,elapsed_time=50,oro=23:24,ia_na=1:3600:5400"},
  layers="eth/ipv6/udp/dhcpv6", expect="dhcpv6.duidllt.link_layer_addr=02:00:00:00:00:01,dhcpv6.elapsed_time=50"}
case{"dhcpv6 advertise with address and dns", ether{}/ipv6{src=L6, dst=L6}/udp{sport=547, dport=546}/dhcpv6{msgtype=2, xid=0x123456, options="server_id=00030001020000000002,ia_na=1:3600:5400,iaaddr=2001:db8::10/7200/7500,dns=2001:db8::53/2001:db8::54,domains=example.com/example.org,status=0/ok,preference=255,rapid_commit"},
  layers="eth/ipv6/udp/dhcpv6", expect="dhcpv6.iaaddr.ip=2001:db8::10,dhcpv6.iaaddr.valid_lifetime=7500,dhcpv6.search_list_entry=example.com."}
case{"dhcpv6 prefix delegation", ether{}/ipv6{src=L6, dst=L6}/udp{sport=547, dport=546}/dhcpv6{msgtype="reply", xid=7, options="client_id=000200000009abcd,ia_pd=9:100:200,iaprefix=2001:db8:100::/56/300/400"},
  layers="eth/ipv6/udp/dhcpv6", expect="dhcpv6.iaprefix.pref_len=56,dhcpv6.duiden.enterprise=9"}
case{"dhcpv6 relay forward", ether{}/ipv6{src=L6, dst=M6}/udp{sport=547, dport=547}/dhcpv6{msgtype=12, linkaddr="2001:db8::1", peeraddr=L6, options="interface_id=0102,relay_msg=01000001000800020000"},
  layers="eth/ipv6/udp/dhcpv6/dhcpv6", expect="dhcpv6.interface_id=01:02"}

---------------------------------------------------------------- NTP
case{"ntp client default", ether{}/ip{src=A, dst=B}/udp{sport=123, dport=123}/ntp{}, layers="eth/ip/udp/ntp",
  expect="ntp.flags.mode=3,ntp.refid=7f:00:00:01,ntp.xmt=NULL"}
case{"ntp server with timestamps", ether{}/ip{src=B, dst=A}/udp{sport=123, dport=40000}/ntp{mode=4, poll=6, precision=236, delay=32768, dispersion=16384, id="c0a80101", ref=0xe875470080000000, orig=0xe875470140000000, recv=0xe875470200000000, sent=0xe875470220000000},
  layers="eth/ip/udp/ntp", expect="ntp.precision=236,ntp.refid=c0:a8:01:01"}
case{"ntp era 1 and leap", ether{}/ip{src=B, dst=A}/udp{sport=123, dport=40001}/ntp{li=3, mode=5, stratum=1, id="47505300", sent=0x0000000100000001}, layers="eth/ip/udp/ntp"}
case{"ntp control read variables", ether{}/ip{src=A, dst=B}/udp{sport=40002, dport=123}/ntp{version=2, mode=6, opcode=2, sequence=68, associd=7},
  layers="eth/ip/udp/ntp", expect="ntp.ctrl.count=0"}
case{"ntp private monlist", ether{}/ip{src=A, dst=B}/udp{sport=40003, dport=123}/ntp{version=2, mode=7, impl=3, reqcode=42}, layers="eth/ip/udp/ntp"}

---------------------------------------------------------------- LLDP
local LLDP_MC = "01:80:c2:00:00:0e"
case{"lldp switch", ether{src=MA, dst=LLDP_MC}/lldp{tlvs="chassis_mac=02:00:00:00:00:01,port_name=eth0,ttl=120,port_desc=uplink,system_name=sw1,system_desc=umpa test,caps=0x14/0x04,mgmt_ipv4=10.0.0.1/3"},
  layers="eth/lldp", expect="lldp.chassis.id.mac=02:00:00:00:00:01,lldp.port.id=eth0,lldp.mgn.interface.number=3"}
case{"lldp local ids ipv6 management and org tlvs", ether{src=MA, dst=LLDP_MC}/lldp{tlvs="chassis_local=box-7,port_alias=to core,ttl=0,mgmt_ipv6=2001:db8::7,vlan=100,mtu=9216,org=0x0012bb/1/0001ff,end"},
  layers="eth/lldp", expect="lldp.ieee.802_1.port_vlan.id=100,lldp.ieee.802_3.max_frame_size=9216"}
case{"lldp port mac and network chassis", ether{src=MA, dst=LLDP_MC}/lldp{tlvs="1=05010a000001,port_mac=02:00:00:00:00:02,ttl=65535"},
  layers="eth/lldp", expect="lldp.chassis.id.ip4=10.0.0.1"}

---------------------------------------------------------------- MLD (ICMPv6 130-132, 143)
case{"mldv2 query with sources", ether{}/ipv6{src="fe80::1", dst="ff02::1", hlim=1}/icmpv6{type=130, mrd=10000, mladdr="ff02::fb", sources="2001:db8::1/2001:db8::2", qrv=2, qqic=125},
  layers="eth/ipv6/icmpv6", expect="icmpv6.mld.nb_sources=2,icmpv6.mld.flag.qrv=2"}
case{"mldv2 general query s flag", ether{}/ipv6{src="fe80::1", dst="ff02::1", hlim=1}/icmpv6{type="mld-query", mrd=1000, s=1, qqic=60},
  layers="eth/ipv6/icmpv6", expect="icmpv6.mld.flag.s=1,icmpv6.mld.nb_sources=0"}
case{"mldv2 report records", ether{}/ipv6{src="fe80::1", dst="ff02::16", hlim=1}/icmpv6{records="to_ex/ff02::fb,allow/ff02::1:3/2001:db8::1/2001:db8::2,block/ff05::2/2001:db8::9"},
  layers="eth/ipv6/icmpv6", expect="icmpv6.mldr.nb_mcast_records=3,icmpv6.mldr.mar.nb_sources=0"}
case{"mldv1 report and done", ether{}/ipv6{src="fe80::1", dst="ff02::fb", hlim=1}/icmpv6{type="mld-report", mladdr="ff02::fb"}, layers="eth/ipv6/icmpv6"}
case{"mldv1 done", ether{}/ipv6{src="fe80::1", dst="ff02::2", hlim=1}/icmpv6{type=132, mladdr="ff02::fb"}, layers="eth/ipv6/icmpv6"}

---------------------------------------------------------------- ICMP extensions (RFC 4884, 4950, 5837)
-- ext(objects): the extension structure (version 2, checksum) holding the objects' bytes.
local function ext(objs)
  local b = "\x20\x00\x00\x00" .. objs
  local sum = 0
  for i = 1, #b - 1, 2 do sum = sum + b:byte(i) * 256 + b:byte(i + 1) end
  if #b % 2 == 1 then sum = sum + b:byte(#b) * 256 end
  while sum > 0xffff do sum = (sum & 0xffff) + (sum >> 16) end
  sum = ~sum & 0xffff
  return "\x20\x00" .. string.char(sum >> 8, sum & 0xff) .. objs
end
-- an MPLS label stack object (class 1, C-type 1): label 100704, exp 0, S, TTL 1; and label 16, exp 5, TTL 254
local MPLS_OBJ = "\x00\x0c\x01\x01" .. "\x18\x96\x01\x01" .. "\x00\x01\x0a\xfe"
-- an interface information object (class 2, C-type 0x0f: ifIndex, IPv4 address, name, MTU)
local IFINFO_OBJ = "\x00\x1c\x02\x0f" .. "\x00\x00\x00\x0f" .. "\x00\x01\x00\x00\x0a\x0a\x0a\x0a" ..
  "\x08ge-0/1\x00" .. "\x00\x00\x05\xdc"
case{"icmp time exceeded with an mpls label stack (compat: 128 bytes quoted)", ether{}/ip{src="10.5.0.1", dst=A}/icmp{type=11}/ip{src=A, dst=B, ttl=1, len=128, proto=253}/(string.rep("A", 108) .. ext(MPLS_OBJ)),
  layers="eth/ip/icmp/ip/raw", expect="icmp.ext.version=2,icmp.mpls.label=100704,icmp.ext.class=1"}
case{"icmp unreachable with interface information and a length", ether{}/ip{src="10.5.0.1", dst=A}/icmp{type=3, code=3, length=32}/ip{src=A, dst=B, len=128, proto=253}/(string.rep("A", 108) .. ext(IFINFO_OBJ)),
  layers="eth/ip/icmp/ip/raw", expect="icmp.int_info.index=15,icmp.int_info.ipv4=10.10.10.10,icmp.int_info.mtu=1500"}

case{"icmpv6 time exceeded with a length and an mpls label stack", ether{}/ipv6{src="2001:db8::ff", dst=A6}/icmpv6{type=3, reserved=0x10000000}/ipv6{src=A6, dst=B6, hlim=1, plen=88, nh=253}/(string.rep("B", 88) .. ext(MPLS_OBJ)),
  layers="eth/ipv6/icmpv6/ipv6/raw", expect="icmpv6.length=16,icmp.mpls.ttl=1"}

case{"icmp time exceeded built with ext= (quote padded to 128, length field, checksums)", ether{}/ip{src="10.5.0.1", dst=A}/icmp{type=11, ext="mpls=100704:0:1:1:16:5:0:254,ifinfo=0/15/10.10.10.10/ge-0.1/1500"}/ip{src=A, dst=B, ttl=1, proto=253}/"probe",
  layers="eth/ip/icmp/ip/raw", expect="icmp.length=32,icmp.mpls.label=100704,icmp.int_info.name=ge-0.1"}

return pkts
