-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local mt = {__lt = function(a, b) while true do end end}
local t = {}
for i = 1, 10 do t[i] = setmetatable({}, mt) end
table.sort(t)
