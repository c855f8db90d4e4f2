-- expect: memory limit \(256 MiB\) exceeded|not enough memory
-- 200 MB of strings fit; joining them does not
local t = {} for i = 1, 200 do t[i] = string.rep("q", 1e6) .. i end return table.concat(t)
