-- expect: memory limit \(256 MiB\) exceeded|not enough memory|time limit exceeded
-- stacks, each with its own payload
local t = {} for i = 1, 1e8 do t[i] = ether{}/ip{}/tcp{}/(string.rep("x", 100000) .. i) end return ip{}
