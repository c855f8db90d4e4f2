-- expect: memory limit \(256 MiB\) exceeded|not enough memory
local t = {} for i = 1, 1e5 do t[i] = string.rep("q", 1e4) .. i end return table.concat(t)
