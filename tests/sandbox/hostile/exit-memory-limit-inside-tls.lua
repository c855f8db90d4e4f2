-- expect: memory limit \(256 MiB\) exceeded|not enough memory
-- the cap is reached while the pump stores a conversation's packets: the pump is freed, nothing leaks
local keep = {} local p = packets(ip{}/string.rep("x", 60000))[1]
for i = 1, 3600 do keep[i] = p:copy() end
return tls{key_type="ec:P-256", send_client=string.rep("y", 4e6), count=3}
