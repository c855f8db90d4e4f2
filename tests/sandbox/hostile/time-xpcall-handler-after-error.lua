-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
xpcall(function() error("x") end, function(e) while true do end end)
