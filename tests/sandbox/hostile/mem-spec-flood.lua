-- expect: memory limit \(256 MiB\) exceeded|not enough memory
-- specs, each with its own option text
local t = {} for i = 1, 1e8 do t[i] = tcp{options = string.rep("nop,", 500) .. "nop", seq = i} end return ip{}
