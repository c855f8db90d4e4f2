-- expect: :[0-9]+: setmetatable: __gc is not allowed in the sandbox
setmetatable({}, {__gc=function() while true do end end})
return ether{}/ip{}/udp{}