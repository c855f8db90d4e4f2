-- expect: :5: memory limit \(256 MiB\) exceeded
collectgarbage("generational")
local p = packets(ip{}/string.rep("x", 60000))[1]
for i = 1, 1e5 do local c = p:copy() end
local keep = {} for i = 1, 1e5 do keep[i] = p:copy():copy() end
