-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local s = string.rep("ab", 1000000)
while true do s = s:gsub("a", function(c) return "a" end) end
