-- mkmix.lua: a mixed capture for the `umpa show` benchmark.
-- K (set by bench.sh through the expression `K = ...` prepended) scales it: 20 packets per unit.
local k = K or 50000
local r = range(1, k)
local who_has = ether{}/arp{op="who-has", psrc="10.0.0.1", pdst="10.0.0.2"}
local is_at = ether{}/arp{op="is-at", psrc="10.0.0.2", pdst="10.0.0.1", hwsrc="02:00:00:00:00:02"}
local arps = {}
for i = 1, k do arps[#arps + 1] = who_has; arps[#arps + 1] = is_at end
return {
  arps,
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=r, dport=9999}/"udp payload 0123456789",
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=r, dport=9999}/"more udp payload",
  ether{}/ip{src="10.0.0.1", dst="10.0.0.53"}/udp{sport=r, dport=53}/dns{rd=1, qd="www.example.com:A"},
  ether{}/ip{src="10.0.0.53", dst="10.0.0.1"}/udp{sport=53, dport=r}/dns{qr=1, rd=1, ra=1, qd="www.example.com:A", an="www.example.com:A:300:93.184.216.34"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.53"}/udp{sport=r, dport=53}/dns{rd=1, qd="example.org:AAAA"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/tcp{sport=r, dport=80, flags="S", options="mss=1460,sackok,ts=1:0,nop,wscale=7"},
  ether{}/ip{src="10.0.0.2", dst="10.0.0.1"}/tcp{sport=80, dport=r, flags="SA", options="mss=1460,sackok,ts=2:1,nop,wscale=7"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/tcp{sport=r, dport=80, flags="A", seq=1, ack=1},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/tcp{sport=r, dport=80, flags="PA", seq=1, ack=1}/"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
  ether{}/ip{src="10.0.0.2", dst="10.0.0.1"}/tcp{sport=80, dport=r, flags="PA", seq=1, ack=33}/string.rep("x", 512),
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/tcp{sport=r, dport=80, flags="A", seq=33, ack=513},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/tcp{sport=r, dport=80, flags="FA", seq=33, ack=513},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/icmp{type="echo-request", id=1, seq=r}/"abcdefghijklmnop",
  ether{}/ip{src="10.0.0.2", dst="10.0.0.1"}/icmp{type="echo-reply", id=1, seq=r}/"abcdefghijklmnop",
  ether{}/ipv6{src="2001:db8::1", dst="2001:db8::2"}/udp{sport=r, dport=9999}/"v6 payload",
  ether{}/ipv6{src="2001:db8::1", dst="2001:db8::2"}/tcp{sport=r, dport=443, flags="S"},
  ether{}/ipv6{src="2001:db8::1", dst="2001:db8::2"}/icmpv6{type="echo-request", seq=r}/"ping6",
  ether{}/vlan{id=100}/ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=r, dport=9999}/"tagged",
}
