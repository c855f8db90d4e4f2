-- expect: memory limit \(256 MiB\) exceeded|not enough memory|time limit exceeded
local t = {} for i = 1, 1e6 do t[i] = string.rep("y", 1e6) .. i end return ip{}
