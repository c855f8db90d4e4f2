-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\)) in string\.gmatch$
for m in string.gmatch(string.rep("a", 5000), string.rep("a*", 25) .. "b") do end
