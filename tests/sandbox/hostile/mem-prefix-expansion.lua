-- expect: memory limit \(256 MiB\) exceeded
-- an address prefix expands under the packet cap (524,288 packets) but its packet objects do not fit
return packets(ip{dst="10.0.0.0/13"}/udp{}/string.rep("x", 1000))
