-- expect: memory limit \(256 MiB\) exceeded|not enough memory
local p = packets(ip{}/string.rep("x", 60000))[1] local t = {}
for i = 1, 1e5 do t[i] = p:bytes() .. i end return ip{}
