-- expect: after tls
-- packets of a conversation alive when the script fails: freed at close
local t = tls{key_type="ec:P-256", count=3} local c = t[1]:copy() error("after tls")
