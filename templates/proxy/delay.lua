-- delay: hold each chunk for a while before forwarding it (reading pauses meanwhile)
return {
	help = "Forward each chunk after 'seconds' (default 0.1); the direction stops reading meanwhile.",
	options = {seconds = "delay per chunk, 0 to 60 (default 0.1)"},
	new = function(opts, incoming)
		local s = tonumber(opts.seconds or "0.1")
		if not s or s ~= s or s < 0 or s > 60 then error("seconds: '" .. tostring(opts.seconds) .. "' is not 0 to 60", 0) end
		return {execute = function(data) return data, s end}
	end,
}
