-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local t = {}
for i = 1, 300000 do t[i] = {i} end
while true do collectgarbage() end
