-- expect: memory limit \(256 MiB\) exceeded|not enough memory
local p = packets(ether{}/ip{}/udp{}/string.rep("x", 60000))[1] local t = {}
for i = 1, 1e5 do t[i] = p:json() .. i end return ip{}
