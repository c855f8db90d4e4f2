-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
while true do local s = string.rep("ab", 3000000, ",") end
