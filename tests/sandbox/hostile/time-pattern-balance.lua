-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\)) in string\.find$
local s = string.rep("(", 300000)
return string.find(s, "%b()") and ether{} or ether{}
