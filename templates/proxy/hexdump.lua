-- hexdump: print every chunk as a hex dump (offset, hex bytes, printable text)
return {
	help = "Print each chunk as a hex dump, headed by the connection and direction.",
	options = {width = "bytes per line (default 16)"},
	new = function(opts, incoming)
		local width = tonumber(opts.width or "16")
		if not width or width < 1 or width > 64 or width % 1 ~= 0 then error("width: '" .. tostring(opts.width) .. "' is not 1 to 64", 0) end
		local conn
		return {
			set_connection = function(c) conn = c end,
			execute = function(data)
				proxy.log(string.format("[%d] %s %d bytes\n%s", conn.channel, incoming and "s2c" or "c2s", #data,
					proxy.hexdump(data, width)))
				return data
			end,
		}
	end,
}
