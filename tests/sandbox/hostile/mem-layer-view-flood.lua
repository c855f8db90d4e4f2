-- expect: memory limit \(256 MiB\) exceeded|not enough memory
local p = packets(ether{}/ip{}/udp{}/string.rep("v", 20000))[1] local t = {}
for i = 1, 1e8 do local c = p:copy() local _ = c.ip, c.udp, c[1] t[i] = c end return ip{}
