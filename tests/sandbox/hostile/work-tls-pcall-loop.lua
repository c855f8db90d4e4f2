-- expect: tls ran 8 times|time limit exceeded
-- the budget error can be caught, but the work stays bounded: 8 calls of tls{} per evaluation
local n = 0 for i = 1, 100 do if pcall(tls, {}) then n = n + 1 end end error("tls ran " .. n .. " times")
