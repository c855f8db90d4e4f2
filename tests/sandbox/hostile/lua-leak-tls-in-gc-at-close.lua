-- expect: __gc is not allowed|while the state closes
-- shared/repro: tls{} from a finalizer run by lua_close leaked everything it made
G = setmetatable({}, {__gc=function() tls{} end})
return ether{}/ip{}/udp{}
