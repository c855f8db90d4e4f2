-- expect: :[0-9]+: (time limit exceeded \((5 s CPU|10 s wall clock)\)|instruction limit reached \([0-9]+ Lua instructions\))$
-- the limit hits, then every __close on the way out loops: they cannot run
local function f()
  local a <close> = setmetatable({}, {__close = function() while true do end end})
  local b <close> = setmetatable({}, {__close = function() while true do end end})
  while true do end
end
f()
