# soak_input.sh - sourced by the soak scripts: soak_input UMPA FILE N writes at least N packets
# (whole sets, 10 µs apart on the capture's clock) for `umpa run host --set
# ip=10.99.0.0/16 --set ip6=fd00:99::1 --set tcp=22:open --offline FILE`, and prints how
# many it wrote.  A set is 5 x S packets: S ARP who-has (10.99.0.0/P, every one a host of
# its own), S ICMP echo requests with 16 bytes of data (10.99.64.0/P), S ICMPv6 echo
# requests to fd00:99::1, S UDP datagrams to a port no service listens on (10.99.128.0/P:
# ICMP port unreachable) and S TCP SYNs to the open port 22 (10.99.192.0/P: SYN+ACK, a
# half-open connection each, evicted past 65,536): every packet answered once, 4 x S
# simulated hosts contacted.  S is 16,384 (P = 18) for N of 655,360 and more, else 1,024
# (P = 22).
soak_input() { # UMPA FILE N
	local p=22 s=1024 sets out
	if [ "$3" -ge 655360 ]; then p=18 s=16384; fi
	sets=$((($3 + 5 * s - 1) / (5 * s)))
	out=$("$1" build -c "$sets" --max 1000000000 --time 1700000000 --interval 0.00001 -w "$2" \
		"ether{src=\"02:aa:00:00:00:01\", dst=\"ff:ff:ff:ff:ff:ff\"}/arp{op=1, hwsrc=\"02:aa:00:00:00:01\", psrc=\"10.99.255.254\", pdst=\"10.99.0.0/$p\"}" \
		"ether{src=\"02:aa:00:00:00:01\", dst=\"02:00:0a:63:00:01\"}/ip{src=\"10.99.255.254\", dst=\"10.99.64.0/$p\"}/icmp{id=7, seq=1}/\"0123456789abcdef\"" \
		"ether{src=\"02:aa:00:00:00:01\", dst=\"02:00:0a:63:00:01\"}/ipv6{src=\"fd00:99::2\", dst=\"fd00:99::1\"}/icmpv6{type=\"echo-request\", id=9, seq=range(1,$s)}" \
		"ether{src=\"02:aa:00:00:00:01\", dst=\"02:00:0a:63:00:01\"}/ip{src=\"10.99.255.254\", dst=\"10.99.128.0/$p\"}/udp{sport=5000, dport=9}/\"x\"" \
		"ether{src=\"02:aa:00:00:00:01\", dst=\"02:00:0a:63:00:01\"}/ip{src=\"10.99.255.254\", dst=\"10.99.192.0/$p\"}/tcp{sport=40000, dport=22, flags=\"S\", seq=1000}" \
		2>&1) || {
		echo "soak_input: $out" >&2
		return 1
	}
	echo $((sets * 5 * s))
}
