-- expect: :[0-9]+: collectgarbage returned$
-- __gc added after setmetatable does not mark the table: the loop never runs
local mt = {}
local t = setmetatable({}, mt)
mt.__gc = function() while true do end end
t = nil
collectgarbage()
collectgarbage()
error("collectgarbage returned")
