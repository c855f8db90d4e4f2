-- expect: :[0-9]+: (stack overflow|(time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\)))$
-- (under AddressSanitizer on a loaded machine the wall-clock limit may come first)
local function f(n) return 1 + f(n + 1) end
return f(1)
