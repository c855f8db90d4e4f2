-- expect: caught: .*(memory limit \(256 MiB\) exceeded|not enough memory)
local ok, e = pcall(function() local t = {} for i = 1, 1e6 do t[i] = packets(ip{}/string.rep("x", 60000))[1] end end)
error("caught: " .. tostring(e))
