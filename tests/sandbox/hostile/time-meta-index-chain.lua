-- expect: :[0-9]+: '__index' chain too long; possible loop$
local t = {}
setmetatable(t, {__index = t})
return t.x
