-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
local s = string.rep("\u{e9}", 8000000)
while true do utf8.len(s) end
