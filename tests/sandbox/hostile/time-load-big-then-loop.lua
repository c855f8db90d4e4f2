-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local f = assert(load(string.rep("local a = 1 ", 150) .. "while true do a = a + 1 end"))
f()
