-- expect: tls: work limit \(500 handshakes per evaluation\) exceeded|time limit exceeded
local t = {} for i = 1, 100 do t[i] = tls{key_type="ec:P-256", count=200} end return t
