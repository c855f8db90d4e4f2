-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local function h(e) return xpcall(function() while true do end end, h) end
while true do xpcall(function() while true do end end, h) end
