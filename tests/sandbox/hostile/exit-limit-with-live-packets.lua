-- expect: memory limit \(256 MiB\) exceeded
local t = tls{key_type="ec:P-256"} local p = packets(ip{}/string.rep("x", 60000))[1] local keep = {t}
for i = 1, 1e6 do keep[#keep + 1] = p:copy() end return ip{}
