-- dup: forward each chunk several times (on a UDP proxy: each copy is a datagram of its own)
return {
	help = "Forward each chunk 'copies' times (default 2); on a UDP proxy each copy is a datagram of its own.",
	options = {copies = "how many times each chunk goes out (1 to 64, default 2)"},
	new = function(opts, incoming)
		local n = tonumber(opts.copies or "2")
		if not n or n < 1 or n > 64 or n ~= math.floor(n) then
			error("copies: want a whole number from 1 to 64 (dup:copies=3)", 0)
		end
		return {execute = function(data)
			local t = {}
			for i = 1, n do t[i] = data end
			return t
		end}
	end,
}
