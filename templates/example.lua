-- example.lua: one packet of every protocol umpa builds, for `umpa build -f`.
-- Each returned value is a packet expression; lists expand to several packets.
return {
  ether{src="02:00:00:00:00:01"}/arp{op="who-has", psrc="10.0.0.1", pdst="10.0.0.2"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/icmp{type="echo-request", id=1, seq=1}/"ping",
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2", ttl=7}/tcp{sport=40000, dport={22,80,443}, flags="S", options="mss=1460,sackok,ts=1:0,nop,wscale=7"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.53"}/udp{sport=5353, dport=53}/dns{rd=1, qd="example.com:A"},
  ether{}/ipv6{src="fe80::1", dst="fe80::2"}/icmpv6{type="echo-request"}/"ping6",
  ether{}/vlan{id=42}/ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=1234, dport=5678}/"hello",
}
