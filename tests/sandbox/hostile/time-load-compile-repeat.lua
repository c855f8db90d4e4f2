-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
-- each load compiles 4 MB in C (a tenth of a second): the tick stops the loop
local s = string.rep("a=1 ", 1000000)
while true do local f = load(s) end
