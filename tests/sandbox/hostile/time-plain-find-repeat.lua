-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local s = string.rep("a", 16000000)
local p = string.rep("a", 8000000) .. "b"
while true do s:find(p, 1, true) end
