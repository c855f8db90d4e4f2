-- expect: memory limit \(256 MiB\) exceeded
-- shared/repro: 40,000 copies of a 65 KB packet (2.6 GB once, when packet bytes were outside the cap)
local p = packets(ether{}/ip{}/udp{}/string.rep("x", 65000))[1] local t={} for i=1,40000 do t[i]=p:copy() end
return ether{}/ip{}/udp{}
