-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\)) in string\.gsub$
return (string.gsub(string.rep("a", 5000), string.rep(".-", 30) .. "X", ""))
