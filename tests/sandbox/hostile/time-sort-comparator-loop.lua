-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local t = {}
for i = 1, 100 do t[i] = i end
table.sort(t, function(a, b) while true do end end)
