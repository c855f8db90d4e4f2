-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local t = {}
for i = 1, 500000 do t[i] = (i * 7919) % 500009 end
while true do table.sort(t, function(a, b) return a > b end) table.sort(t) end
