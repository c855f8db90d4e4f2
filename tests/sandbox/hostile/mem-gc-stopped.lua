-- expect: :6: memory limit \(256 MiB\) exceeded
-- a stopped collector does not stop the cap: garbage copies are still collected (100,000 x 60 KB = 6 GB), kept ones fail
collectgarbage("stop")
local p = packets(ip{}/string.rep("x", 60000))[1]
for i = 1, 1e5 do local c = p:copy() end
local keep = {} for i = 1, 1e5 do keep[i] = p:copy() end
