-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\)) in string\.find$
local s = string.rep("a", 5000) local r = string.find(s, string.rep(".-", 30) .. "X")
return ether{}/ip{}/udp{}