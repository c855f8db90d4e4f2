-- expect: memory limit \(256 MiB\) exceeded|not enough memory|time limit exceeded
-- packets whose bytes grow after they were made (a payload field written larger)
local t = {} for i = 1, 1e6 do local p = packets(ip{}/tcp{}/string.rep("x", 20000))[1] p.tcp.options = "mss=1460,nop,nop,sackok" t[i] = p end
return ip{}
