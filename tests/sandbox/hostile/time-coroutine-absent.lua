-- expect: :[0-9]+: attempt to index a nil value \(global 'coroutine'\)$
local co = coroutine.wrap(function() while true do coroutine.yield() end end)
while true do co() end
