-- expect: memory limit \(256 MiB\) exceeded
-- each copy of a copy: packet bytes outside Lua count against the cap
local p = packets(ip{}/string.rep("x", 60000))[1] local keep = {}
for i = 1, 1e6 do p = p:copy() keep[i] = p end return ip{}
