-- expect: memory limit \(256 MiB\) exceeded
-- 765,000 packet objects of 1 KB each, kept in one array
return packets(ip{ttl=range(1, 255)}/udp{dport=range(1, 3000)}/string.rep("a", 1000))
