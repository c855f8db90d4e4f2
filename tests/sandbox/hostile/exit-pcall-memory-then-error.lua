-- expect: caught: .*(memory limit \(256 MiB\) exceeded|not enough memory)|time limit exceeded
local s = string.rep("x", 60000)
local ok, e = pcall(function() local t = {} for i = 1, 1e6 do t[i] = packets(ip{id = i % 65536}/s)[1] end end)
error("caught: " .. tostring(e))
