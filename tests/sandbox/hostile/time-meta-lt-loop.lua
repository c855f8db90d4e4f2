-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local mt = {__lt = function(a, b) local n = 0 while true do n = n + 1 end end}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
return a < b and ether{} or ip{}
