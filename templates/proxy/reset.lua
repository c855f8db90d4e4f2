-- reset: reset the connection (both sockets get RST) when a text is seen, or at once
return {
	help = "Reset the connection (RST both ways) at the first chunk, or the first containing 'match'.",
	options = {match = "text that triggers the reset (default: any chunk)"},
	new = function(opts, incoming)
		return {execute = function(data)
			if not opts.match or data:find(opts.match, 1, true) then return "", "reset" end
			return data
		end}
	end,
}
