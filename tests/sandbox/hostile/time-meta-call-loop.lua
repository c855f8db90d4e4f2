-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local t = setmetatable({}, {__call = function() while true do end end})
t()
