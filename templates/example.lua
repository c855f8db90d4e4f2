-- example.lua: one packet of every protocol umpa builds, for `umpa build -f`.
-- Each returned value is a packet expression; lists expand to several packets.
return {
  ether{src="02:00:00:00:00:01"}/arp{op="who-has", psrc="10.0.0.1", pdst="10.0.0.2"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/icmp{type="echo-request", id=1, seq=1}/"ping",
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2", ttl=7}/tcp{sport=40000, dport={22,80,443}, flags="S", options="mss=1460,sackok,ts=1:0,nop,wscale=7"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.53"}/udp{sport=5353, dport=53}/dns{rd=1, qd="example.com:A"},
  ether{}/ipv6{src="fe80::1", dst="fe80::2"}/icmpv6{type="echo-request"}/"ping6",
  ether{}/vlan{id=42}/ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=1234, dport=5678}/"hello",
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/sctp{sport=40000, dport=5000, chunks="init=0xabcd:65536:10:10:100"},
  ether{}/ipv6{src="fe80::1", dst="ff02::1:2"}/udp{sport=546, dport=547}/dhcpv6{xid=0x1234, options="client_id=00030001020000000001,elapsed_time=0,ia_na=1:0:0"},
  ether{}/ip{src="10.0.0.1", dst="10.0.0.2"}/udp{sport=123, dport=123}/ntp{},
  ether{src="02:00:00:00:00:01", dst="01:80:c2:00:00:0e"}/lldp{tlvs="chassis_mac=02:00:00:00:00:01,port_name=eth0,ttl=120,system_name=umpa"},
  ether{}/ipv6{src="fe80::1", dst="ff02::16", hlim=1}/icmpv6{records="to_ex/ff02::fb"},
}
