-- expect: tls: work limit \(1000 handshakes per evaluation\) exceeded|time limit exceeded
local t = {} for i = 1, 100 do t[i] = tls{key_type="ec:P-256", count=300} end return t
