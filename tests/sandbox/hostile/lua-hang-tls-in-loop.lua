-- expect: tls: key generation limit \(16 RSA-2048 keys|time limit exceeded
-- shared/repro: tls{} in an endless loop (each call generates two RSA-2048 keys)
local t = {} for i=1,1e6 do t[#t+1] = tls{} end return t
