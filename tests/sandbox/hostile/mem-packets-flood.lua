-- expect: memory limit \(256 MiB\) exceeded
local s = string.rep("z", 60000) local t = {}
for i = 1, 1e5 do t[i] = packets(ip{}/udp{sport = i % 65536}/s) end return ip{}
