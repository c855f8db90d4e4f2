-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
-- few instructions, each copying 48 MB: only the timer makes the hook look at the clock
local big = string.rep("x", 48 * 1024 * 1024)
while true do local y = big .. "y" end
