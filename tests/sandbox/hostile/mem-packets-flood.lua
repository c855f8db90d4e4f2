-- expect: memory limit \(256 MiB\) exceeded
local t = {} for i = 1, 1e5 do t[i] = packets(ip{}/udp{}/string.rep("z", 60000)) end return ip{}
