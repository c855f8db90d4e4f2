-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local n = 0
while true do n = n + #string.format("%s %d %q %5.2f", tostring({}), n, "x\n", n / 3) end
